// Runs the [Fact]/[CudaFact]/[GpuFact] methods of named test classes by reflection (the GPU machine has no .NET SDK).
// Arguments: Assembly.dll:Namespace.Class ...
using System.Reflection;
int pass = 0, fail = 0, skip = 0;
foreach (var arg in args)
{
    var parts = arg.Split(':');
    var asm = Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, parts[0]));
    var type = asm.GetType(parts[1]) ?? throw new Exception("no class " + arg);
    foreach (var m in type.GetMethods().Where(m => m.GetCustomAttributes().Any(a => a.GetType().Name.EndsWith("FactAttribute"))))
    {
        var fact = m.GetCustomAttributes().First(a => a.GetType().Name.EndsWith("FactAttribute"));
        var skipReason = (string?)fact.GetType().GetProperty("Skip")!.GetValue(fact);
        if (skipReason is not null) { skip++; Console.WriteLine($"SKIP {type.Name}.{m.Name}: {skipReason}"); continue; }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        object? obj = null;
        try
        {
            obj = Activator.CreateInstance(type);
            if (m.Invoke(obj, null) is Task t) t.GetAwaiter().GetResult();
            pass++; Console.WriteLine($"PASS {type.Name}.{m.Name} ({sw.ElapsedMilliseconds} ms)");
        }
        catch (Exception e)
        {
            fail++; Console.WriteLine($"FAIL {type.Name}.{m.Name} ({sw.ElapsedMilliseconds} ms): {(e as TargetInvocationException)?.InnerException ?? e}");
        }
        finally { (obj as IDisposable)?.Dispose(); }
    }
}
Console.WriteLine($"passed {pass}, failed {fail}, skipped {skip}");
return fail == 0 ? 0 : 1;
