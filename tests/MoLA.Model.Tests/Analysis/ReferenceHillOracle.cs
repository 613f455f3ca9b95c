namespace MoLA.Model.Tests.Analysis;

/// <summary>
/// A literal, slow transcription of methods.md section 4 steps 1-5 (direct sums, pow, full
/// D arrays, argmin over all of them), used only to cross-check the fast estimator.
/// </summary>
internal static class ReferenceHillOracle
{
    public static (double Alpha, int Index, double D) Estimate(double[] eigenvalues, int bins = 100)
    {
        double[] lambda = (double[])eigenvalues.Clone();
        Array.Sort(lambda);
        int n = lambda.Length;

        double min = Math.Log10(lambda[0]);
        double max = Math.Log10(lambda[n - 1]);
        var counts = new int[bins];
        foreach (double x in lambda)
        {
            int b = (int)Math.Floor((Math.Log10(x) - min) * bins / (max - min));
            counts[Math.Min(b, bins - 1)]++;
        }

        int peak = 0;
        for (int b = 1; b < bins; b++)
        {
            if (counts[b] > counts[peak])
            {
                peak = b;
            }
        }

        double step = (max - min) / bins;
        double edge = peak < (bins + 1) / 2 ? min + (step * peak) : max - (step * (bins - peak));
        double xPeak = Math.Pow(10, edge);
        double lower = Math.Log10(0.95 * xPeak);
        double upper = 1.5 * xPeak;

        var alphas = new double[n - 1];
        var ds = new double[n - 1];
        Array.Fill(ds, 1.0);
        for (int i = 0; i < n - 1; i++)
        {
            double xmin = lambda[i];
            if (xmin < lower)
            {
                continue;
            }

            if (xmin > upper)
            {
                break;
            }

            double m = n - i;
            double sum = 0;
            for (int j = i; j < n; j++)
            {
                sum += Math.Log(lambda[j]);
            }

            double alpha = 1 + (m / (sum - (m * Math.Log(xmin))));
            alphas[i] = alpha;
            if (alpha > 1)
            {
                double d = 0;
                for (int k = 0; k < m; k++)
                {
                    d = Math.Max(d, Math.Abs(1 - Math.Pow(lambda[i + k] / xmin, 1 - alpha) - (k / m)));
                }

                ds[i] = d;
            }
        }

        int best = 0;
        for (int i = 1; i < ds.Length; i++)
        {
            if (ds[i] < ds[best])
            {
                best = i;
            }
        }

        return (alphas[best], best, ds[best]);
    }
}
