using YamlDotNet.RepresentationModel;

namespace MoLA.Deploy.Tests;

/// <summary>
/// `helm template` with the default values (bundled PostgreSQL, one CPU worker) and with the GPU production example,
/// parsed, and each object checked: the set of kinds, probes, resources, security, selectors against pod labels, the
/// Orleans Kubernetes hosting wiring (labels, downward API, RBAC), hooks, GPU scheduling.
/// </summary>
public sealed class HelmTemplateTests
{
    private static string GpuValues => Path.Combine(Tools.Chart, "values-gpu-production.yaml");

    private static Task<Manifests> Default() => Render([]);

    private static Task<Manifests> Gpu() => Render([GpuValues]);

    private static async Task<Manifests> Render(string[] valuesFiles, params string[] sets) =>
        new(await Tools.Template(valuesFiles, sets));

    private static IEnumerable<YamlMappingNode> PodTemplates(Manifests m) =>
        m.Objects.Where(o => Y.At(o, "spec", "template", "spec") is not null).Select(o => Y.Map(o, "spec", "template"));

    private static IEnumerable<YamlMappingNode> Containers(YamlNode podSpec) =>
        Y.Seq(podSpec, "containers").Concat(Y.Seq(podSpec, "initContainers")).Cast<YamlMappingNode>();

    [Fact]
    public async Task DefaultValuesRenderEveryObject()
    {
        var m = await Default();
        string[] expected =
        [
            "StatefulSet/mola-mola-distributed-silo", "StatefulSet/mola-mola-distributed-worker", "StatefulSet/mola-mola-distributed-postgresql",
            "Service/mola-mola-distributed-api", "Service/mola-mola-distributed-silo", "Service/mola-mola-distributed-gateway",
            "Service/mola-mola-distributed-metrics", "Service/mola-mola-distributed-postgresql",
            "PersistentVolumeClaim/mola-mola-distributed-runs", "ConfigMap/mola-mola-distributed-silo",
            "Secret/mola-mola-distributed-api-token", "Secret/mola-mola-distributed-postgresql",
            "ServiceAccount/mola-mola-distributed", "Role/mola-mola-distributed-orleans", "RoleBinding/mola-mola-distributed-orleans",
            "Job/mola-mola-distributed-migrate", "PodDisruptionBudget/mola-mola-distributed-silo", "PodDisruptionBudget/mola-mola-distributed-worker",
            "NetworkPolicy/mola-mola-distributed-silo", "NetworkPolicy/mola-mola-distributed-postgresql", "Pod/mola-mola-distributed-test-connection",
        ];
        var dashboards = Directory.GetFiles(Path.Combine(Tools.Chart, "files", "dashboards"), "*.json").Length;
        var actual = m.Objects.Select(o => $"{Y.Str(o, "kind")}/{Y.Str(o, "metadata", "name")}").Where(n => !n.Contains("-dashboard-", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
        Assert.Equal(dashboards, m.OfKind("ConfigMap").Count(c => Y.Str(c, "metadata", "labels", "grafana_dashboard") == "1"));
        // Off by default: they need kube-prometheus-stack's CRDs.
        Assert.Empty(m.OfKind("ServiceMonitor"));
        Assert.Empty(m.OfKind("PrometheusRule"));
    }

    [Fact]
    public async Task GpuProductionValuesRenderMonitoringAndNoBundledDatabase()
    {
        var m = await Gpu();
        Assert.DoesNotContain(m.OfKind("StatefulSet"), s => Y.Str(s, "metadata", "name")!.EndsWith("-postgresql", StringComparison.Ordinal));
        var monitor = m.Get("ServiceMonitor", "mola-mola-distributed");
        Assert.Equal("kube-prometheus-stack", Y.Str(monitor, "metadata", "labels", "release"));
        Assert.Equal("kube-prometheus-stack", Y.Str(m.Get("PrometheusRule", "mola-mola-distributed"), "metadata", "labels", "release"));
        // The ServiceMonitor selects the metrics Service and scrapes a port it has.
        var metrics = m.Get("Service", "mola-mola-distributed-metrics");
        var selector = Y.Dict(monitor, "spec", "selector", "matchLabels");
        Assert.All(selector, kv => Assert.Equal(kv.Value, Y.Dict(metrics, "metadata", "labels").GetValueOrDefault(kv.Key)));
        var endpoint = Y.Seq(monitor, "spec", "endpoints").Single();
        Assert.Contains(Y.Str(endpoint, "port"), Y.Seq(metrics, "spec", "ports").Select(p => Y.Str(p, "name")));
        Assert.Equal("/metrics", Y.Str(endpoint, "path"));
        // The connection string comes from the existing Secret.
        var env = Y.Seq(Y.Map(m.Get("StatefulSet", "mola-mola-distributed-silo"), "spec", "template", "spec"), "containers")[0];
        var connection = Y.Seq(env, "env").Single(e => Y.Str(e, "name") == "MOLA_SILO_CONNECTION_STRING");
        Assert.Equal("mola-database", Y.Str(connection, "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("connection-string", Y.Str(connection, "valueFrom", "secretKeyRef", "key"));
    }

    [Fact]
    public async Task GpuWorkersRequestGpusAndAreScheduledOnGpuNodes()
    {
        var m = await Gpu();
        var worker = m.Get("StatefulSet", "mola-mola-distributed-worker");
        Assert.Equal("8", Y.Str(worker, "spec", "replicas"));
        var pod = Y.Map(worker, "spec", "template", "spec");
        var silo = (YamlMappingNode)Y.Seq(pod, "containers")[0];
        Assert.Equal("8", Y.Str(silo, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("1800Gi", Y.Str(silo, "resources", "limits", "memory"));
        Assert.Equal("nvidia", Y.Str(pod, "runtimeClassName"));
        Assert.Equal("NVIDIA-H100-80GB-HBM3", Y.Str(pod, "nodeSelector", "nvidia.com/gpu.product"));
        Assert.Equal("nvidia.com/gpu", Y.Str(Y.Seq(pod, "tolerations").Single(), "key"));
        // One slot per GPU; the agent runs in the workers, not in the control-plane silos.
        var args = Y.Seq(silo, "args").Select(a => ((YamlScalarNode)a).Value).ToList();
        Assert.Equal("8", args[args.IndexOf("--cpu-slots") + 1]);
        Assert.Equal("true", args[args.IndexOf("--agent") + 1]);
        var controlArgs = Y.Seq(Y.Seq(Y.Map(m.Get("StatefulSet", "mola-mola-distributed-silo"), "spec", "template", "spec"), "containers")[0], "args")
            .Select(a => ((YamlScalarNode)a).Value).ToList();
        Assert.Equal("false", controlArgs[controlArgs.IndexOf("--agent") + 1]);
        // NCCL's shared memory.
        var shm = Y.Seq(pod, "volumes").Single(v => Y.Str(v, "name") == "dshm");
        Assert.Equal("Memory", Y.Str(shm, "emptyDir", "medium"));
        Assert.Equal("256Gi", Y.Str(shm, "emptyDir", "sizeLimit"));

        // A CPU worker (the default) asks for no GPU.
        var cpu = (await Default()).Get("StatefulSet", "mola-mola-distributed-worker");
        Assert.Null(Y.At(Y.Seq(Y.Map(cpu, "spec", "template", "spec"), "containers")[0], "resources", "limits", "nvidia.com/gpu"));
    }

    [Fact]
    public async Task SilosHaveProbesResourcesAndRunAsNonRootOnAReadOnlyRoot()
    {
        foreach (var m in new[] { await Default(), await Gpu() })
        {
            var silos = m.OfKind("StatefulSet").Where(s => Y.Str(s, "spec", "template", "metadata", "labels", "mola.dev/silo") == "true").ToList();
            Assert.Equal(2, silos.Count);
            foreach (var set in silos)
            {
                var pod = Y.Map(set, "spec", "template", "spec");
                var c = (YamlMappingNode)Y.Seq(pod, "containers").Single();
                var ports = Y.Seq(c, "ports").ToDictionary(p => Y.Str(p, "name")!, p => Y.Str(p, "containerPort"));
                Assert.Equal(["api", "gateway", "silo"], ports.Keys.Order(StringComparer.Ordinal));
                Assert.Equal("/healthz", Y.Str(c, "livenessProbe", "httpGet", "path"));
                Assert.Equal("api", Y.Str(c, "livenessProbe", "httpGet", "port"));
                Assert.Equal("/readyz", Y.Str(c, "readinessProbe", "httpGet", "path"));
                Assert.Equal("api", Y.Str(c, "readinessProbe", "httpGet", "port"));
                Assert.Equal("true", Y.Str(pod, "securityContext", "runAsNonRoot"));
                Assert.Equal("true", Y.Str(c, "securityContext", "readOnlyRootFilesystem"));
                // What the silo writes goes to volumes: state, /tmp, the run volume.
                var mounts = Y.Seq(c, "volumeMounts").Select(v => Y.Str(v, "mountPath")).ToList();
                Assert.Contains("/var/lib/mola/state", mounts);
                Assert.Contains("/tmp", mounts);
                Assert.Contains("/var/lib/mola/runs", mounts);
                var claim = Y.Seq(pod, "volumes").Single(v => Y.Str(v, "name") == "runs");
                Assert.Equal(Y.Str(m.OfKind("PersistentVolumeClaim").Single(), "metadata", "name"), Y.Str(claim, "persistentVolumeClaim", "claimName"));
            }
            Assert.Equal("ReadWriteMany", Y.Str(Y.Seq(m.OfKind("PersistentVolumeClaim").Single(), "spec", "accessModes").Single()));

            // Every container of every workload, hook and test pod: resources with a memory limit, no escalation.
            var podSpecs = PodTemplates(m).Select(t => Y.Map(t, "spec")).Concat(m.OfKind("Pod").Select(p => Y.Map(p, "spec"))).ToList();
            Assert.True(podSpecs.Count >= 4);
            foreach (var c in podSpecs.SelectMany(Containers))
            {
                Assert.True(Y.Str(c, "resources", "limits", "memory") is not null, $"container {Y.Str(c, "name")} has no memory limit");
                Assert.True(Y.At(c, "resources", "requests") is not null, $"container {Y.Str(c, "name")} has no requests");
                Assert.Equal("false", Y.Str(c, "securityContext", "allowPrivilegeEscalation"));
            }
        }
    }

    [Fact]
    public async Task SelectorsMatchPodLabels()
    {
        foreach (var m in new[] { await Default(), await Gpu() })
        {
            var pods = PodTemplates(m).Select(t => Y.Dict(t, "metadata", "labels")).ToList();
            static bool Matches(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
                selector.Count > 0 && selector.All(kv => labels.GetValueOrDefault(kv.Key) == kv.Value);

            foreach (var workload in m.Objects.Where(o => Y.Str(o, "kind") is "StatefulSet" or "Deployment"))
                Assert.True(Matches(Y.Dict(workload, "spec", "selector", "matchLabels"), Y.Dict(workload, "spec", "template", "metadata", "labels")),
                    $"{Y.Str(workload, "metadata", "name")}: selector does not match its pod labels");
            foreach (var service in m.OfKind("Service"))
                Assert.True(pods.Any(p => Matches(Y.Dict(service, "spec", "selector"), p)), $"Service {Y.Str(service, "metadata", "name")} selects no pod");
            foreach (var pdb in m.OfKind("PodDisruptionBudget"))
                Assert.True(pods.Any(p => Matches(Y.Dict(pdb, "spec", "selector", "matchLabels"), p)), $"PDB {Y.Str(pdb, "metadata", "name")} selects no pod");
            foreach (var policy in m.OfKind("NetworkPolicy"))
                Assert.True(pods.Any(p => Matches(Y.Dict(policy, "spec", "podSelector", "matchLabels"), p)), $"NetworkPolicy {Y.Str(policy, "metadata", "name")} selects no pod");

            // The API Service reaches the control-plane silos only; the silo (headless) Service reaches both roles.
            var api = Y.Dict(m.Get("Service", "mola-mola-distributed-api"), "spec", "selector");
            Assert.Single(pods, p => Matches(api, p));
            var headless = m.Get("Service", "mola-mola-distributed-silo");
            Assert.Equal("None", Y.Str(headless, "spec", "clusterIP"));
            Assert.Equal(2, pods.Count(p => Matches(Y.Dict(headless, "spec", "selector"), p)));
            foreach (var set in m.OfKind("StatefulSet"))
                Assert.Contains(Y.Str(set, "spec", "serviceName"), m.OfKind("Service").Select(s => Y.Str(s, "metadata", "name")));
        }
    }

    [Fact]
    public async Task SilosAreWiredForOrleansKubernetesHosting()
    {
        var m = await Default();
        // The Role covers what Orleans' Kubernetes agent does with pods, and is bound to the silos' ServiceAccount.
        var rule = Y.Seq(m.Get("Role", "mola-mola-distributed-orleans"), "rules").Single();
        Assert.Equal([""], Y.Seq(rule, "apiGroups").Select(g => ((YamlScalarNode)g).Value));
        Assert.Equal(["pods"], Y.Seq(rule, "resources").Select(g => ((YamlScalarNode)g).Value));
        var verbs = Y.Seq(rule, "verbs").Select(v => ((YamlScalarNode)v).Value).ToHashSet();
        Assert.Superset(new HashSet<string?> { "get", "watch", "list", "patch" }, verbs);
        var binding = m.Get("RoleBinding", "mola-mola-distributed-orleans");
        Assert.Equal("mola-mola-distributed-orleans", Y.Str(binding, "roleRef", "name"));
        var subject = Y.Seq(binding, "subjects").Single();
        Assert.Equal("ml", Y.Str(subject, "namespace"));
        Assert.Equal("true", Y.Str(m.Get("ServiceAccount", Y.Str(subject, "name")!), "automountServiceAccountToken"));

        var config = Y.Str(m.Get("ConfigMap", "mola-mola-distributed-silo"), "data", "silo.yaml")!;
        Assert.Contains("kubernetes: true", config, StringComparison.Ordinal);
        Assert.Contains("api-address: 0.0.0.0", config, StringComparison.Ordinal);
        foreach (var set in m.OfKind("StatefulSet").Where(s => Y.Str(s, "spec", "template", "metadata", "labels", "mola.dev/silo") == "true"))
        {
            var template = Y.Map(set, "spec", "template");
            Assert.Equal(Y.Str(subject, "name"), Y.Str(template, "spec", "serviceAccountName"));
            var labels = Y.Dict(template, "metadata", "labels");
            Assert.Equal("mola", labels["orleans/clusterId"]);
            Assert.Equal("mola", labels["orleans/serviceId"]);
            var env = Y.Seq(Y.Seq(template, "spec", "containers")[0], "env").ToDictionary(e => Y.Str(e, "name")!, e => Y.Str(e, "valueFrom", "fieldRef", "fieldPath"));
            Assert.Equal("metadata.name", env["POD_NAME"]);
            Assert.Equal("metadata.namespace", env["POD_NAMESPACE"]);
            Assert.Equal("status.podIP", env["POD_IP"]);
            Assert.Equal("metadata.labels['orleans/clusterId']", env["ORLEANS_CLUSTER_ID"]);
            Assert.Equal("metadata.labels['orleans/serviceId']", env["ORLEANS_SERVICE_ID"]);
        }

        // Without Kubernetes hosting: no Role, no pod token.
        var plain = await Render([], "cluster.kubernetesHosting=false");
        Assert.Empty(plain.OfKind("Role"));
        Assert.Equal("false", Y.Str(plain.OfKind("ServiceAccount").Single(), "automountServiceAccountToken"));
    }

    [Fact]
    public async Task MigrationRunsAsAHookBeforeTheSilosWithTheSameConnection()
    {
        // An external database: before install and upgrade; the connection Secret is a hook too, created before it.
        var external = await Render([], "postgresql.enabled=false", "database.connectionString=Host=db;Database=mola;Username=mola;Password=x");
        var job = external.Get("Job", "mola-mola-distributed-migrate");
        Assert.Equal("pre-install,pre-upgrade", Y.Str(job, "metadata", "annotations", "helm.sh/hook"));
        var secret = external.Get("Secret", "mola-mola-distributed-database");
        Assert.Equal("pre-install,pre-upgrade", Y.Str(secret, "metadata", "annotations", "helm.sh/hook"));
        Assert.True(int.Parse(Y.Str(secret, "metadata", "annotations", "helm.sh/hook-weight")!, System.Globalization.CultureInfo.InvariantCulture)
            < int.Parse(Y.Str(job, "metadata", "annotations", "helm.sh/hook-weight")!, System.Globalization.CultureInfo.InvariantCulture));
        var c = Y.Seq(job, "spec", "template", "spec", "containers").Single();
        Assert.Equal(["mola", "silo", "migrate"], Y.Seq(c, "command").Concat(Y.Seq(c, "args")).Select(a => ((YamlScalarNode)a).Value));
        var jobEnv = Y.Seq(c, "env").Single(e => Y.Str(e, "name") == "MOLA_SILO_CONNECTION_STRING");
        Assert.Equal("mola-mola-distributed-database", Y.Str(jobEnv, "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("Host=db;Database=mola;Username=mola;Password=x", Y.Str(secret, "stringData", "connection-string"));

        // The bundled PostgreSQL does not exist before install: the migration runs after it (and before upgrades).
        var bundled = await Default();
        var bundledJob = bundled.Get("Job", "mola-mola-distributed-migrate");
        Assert.Equal("post-install,pre-upgrade", Y.Str(bundledJob, "metadata", "annotations", "helm.sh/hook"));
        var siloEnv = Y.Seq(Y.Seq(Y.Map(bundled.Get("StatefulSet", "mola-mola-distributed-silo"), "spec", "template", "spec"), "containers")[0], "env");
        var jobEnvBundled = Y.Seq(Y.Seq(bundledJob, "spec", "template", "spec", "containers")[0], "env");
        string? Value(IReadOnlyList<YamlNode> env) => Y.Str(env.Single(e => Y.Str(e, "name") == "MOLA_SILO_CONNECTION_STRING"), "value");
        Assert.Equal("Host=mola-mola-distributed-postgresql;Port=5432;Database=mola;Username=mola;Password=$(MOLA_POSTGRES_PASSWORD)", Value(siloEnv));
        Assert.Equal(Value(siloEnv), Value(jobEnvBundled));
        // $(VAR) expands only for variables defined earlier in the list.
        Assert.True(siloEnv.ToList().FindIndex(e => Y.Str(e, "name") == "MOLA_POSTGRES_PASSWORD") < siloEnv.ToList().FindIndex(e => Y.Str(e, "name") == "MOLA_SILO_CONNECTION_STRING"));

        // Redis: no schema, no migration.
        var redis = await Render([], "postgresql.enabled=false", "cluster.provider=redis", "database.existingSecret=redis");
        Assert.Empty(redis.OfKind("Job"));
    }

    [Fact]
    public async Task ApiTokenIsASecretMountedAsTheTokenFile()
    {
        var m = await Default();
        var token = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(Y.Str(m.Get("Secret", "mola-mola-distributed-api-token"), "data", "token")!));
        Assert.Matches("^[A-Za-z0-9]{64}$", token);
        var config = Y.Str(m.Get("ConfigMap", "mola-mola-distributed-silo"), "data", "silo.yaml")!;
        Assert.Contains("token-file: /var/run/mola/api-token/token", config, StringComparison.Ordinal);
        var pod = Y.Map(m.Get("StatefulSet", "mola-mola-distributed-silo"), "spec", "template", "spec");
        Assert.Equal("mola-mola-distributed-api-token", Y.Str(Y.Seq(pod, "volumes").Single(v => Y.Str(v, "name") == "api-token"), "secret", "secretName"));

        // A Secret of one's own: the chart creates none and mounts that one.
        var own = await Render([], "apiToken.existingSecret=my-token", "apiToken.key=t");
        Assert.DoesNotContain(own.OfKind("Secret"), s => Y.Str(s, "metadata", "name")!.EndsWith("-api-token", StringComparison.Ordinal));
        var ownPod = Y.Map(own.Get("StatefulSet", "mola-mola-distributed-silo"), "spec", "template", "spec");
        Assert.Equal("my-token", Y.Str(Y.Seq(ownPod, "volumes").Single(v => Y.Str(v, "name") == "api-token"), "secret", "secretName"));
        Assert.Contains("token-file: /var/run/mola/api-token/t", Y.Str(own.Get("ConfigMap", "mola-mola-distributed-silo"), "data", "silo.yaml")!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamesFitKubernetesLimitsForALongReleaseName()
    {
        var release = "a-release-name-of-fifty-characters-for-this-test-x";
        Assert.Equal(50, release.Length);
        var m = new Manifests(await Tools.Template(release: release));
        foreach (var o in m.Objects)
        {
            var name = Y.Str(o, "metadata", "name")!;
            Assert.True(name.Length <= 63, $"{name}: longer than 63");
            // A StatefulSet's pods get the label controller-revision-hash=<name>-<10 characters>: at most 63.
            if (Y.Str(o, "kind") == "StatefulSet") Assert.True(name.Length <= 52, $"{name}: longer than 52");
        }
    }

    [Fact]
    public async Task NetworkPolicyAdmitsTheReleaseAndTheConfiguredPeersOnly()
    {
        var policy = (await Gpu()).Get("NetworkPolicy", "mola-mola-distributed-silo");
        var rules = Y.Seq(policy, "spec", "ingress");
        Assert.Equal(3, rules.Count);
        // Silo to silo, any port (Orleans, rendezvous, NCCL): only pods of this release.
        Assert.Null(Y.At(rules[0], "ports"));
        Assert.Equal("mola", Y.Str(Y.Seq(rules[0], "from").Single(), "podSelector", "matchLabels", "app.kubernetes.io/instance"));
        // The API port: the users' namespace, and the monitoring namespace for /metrics.
        var peers = rules.Skip(1).Select(r => Y.Str(Y.Seq(r, "from").Single(), "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") ?? "").ToList();
        Assert.Equal(["ml-users", "monitoring"], peers);
        Assert.All(rules.Skip(1), r => Assert.Equal("api", Y.Str(Y.Seq(r, "ports").Single(), "port")));
    }

    [Fact]
    public async Task TestPodGetsTheApiHealthz()
    {
        var pod = (await Default()).Get("Pod", "mola-mola-distributed-test-connection");
        Assert.Equal("test", Y.Str(pod, "metadata", "annotations", "helm.sh/hook"));
        var command = string.Join(' ', Y.Seq(Y.Seq(pod, "spec", "containers").Single(), "command").Select(a => ((YamlScalarNode)a).Value));
        Assert.EndsWith("http://mola-mola-distributed-api:7870/healthz", command, StringComparison.Ordinal);
    }
}
