using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

/// <summary>What the stain check found on one slide (results.csv `stain_check`, details in results.json).</summary>
/// <param name="Estimated">The two stain vectors estimated on the slide's tissue (Macenko), named like the model's; null when there was too little stain to estimate.</param>
/// <param name="PositiveChromogenP90">90th percentile of the chromogen OD over sampled pixels at or above the weak threshold
/// (null under 500 such pixels): how strongly this run stained what it stained, for cohort drift checks.</param>
/// <param name="CounterstainMedian">Median counterstain OD over sampled tissue pixels.</param>
public sealed record StainCheckResult(bool Mismatch, IReadOnlyList<string> Reasons, StainSet? Estimated, double? ChromogenAngle, double? CounterstainAngle,
    double? PositiveChromogenP90 = null, double? CounterstainMedian = null)
{
    public string Verdict => Mismatch ? "mismatch" : "ok";
}

/// <summary>
/// Is this slide stained the way the model assumes? The slide's own stain vectors are estimated (Macenko, as
/// `stains estimate` does) and compared with the model's. Measured on the shipped and shared slides, real H-DAB
/// chromogens come out within 8° of the model's DAB, while eosin read with an H-DAB model comes out 29–36° away;
/// real hematoxylin varies more (up to 21°) between labs and scanners. Hence the limits below. A slide with little
/// chromogen above the weak threshold is not judged on its chromogen: Macenko's second direction is then noise,
/// and a negative slide is a legitimate result.
/// </summary>
public static class StainCheck
{
    public const double MaxChromogenAngleDegrees = 18;
    public const double MaxCounterstainAngleDegrees = 30;
    /// <summary>Below this % of tissue at or above the weak threshold the chromogen is not judged.</summary>
    public const double MinPositivePctToJudgeChromogen = 1;

    public static StainCheckResult Run(ISlide slide, TissueMask tissue, StainSet model, int chromogenIndex, double positivePct, double weak)
    {
        // Fewer tiles than `stains estimate` reads: the check needs directions, not precise vectors.
        var sample = StainSampler.Sample(slide, tissue, model.Background, maxTiles: 24, step: 4);
        int counterIndex = chromogenIndex == 0 ? 1 : 0;
        var (p90, counterMedian) = Intensities(sample, model, chromogenIndex, counterIndex, weak);
        StainSet estimated;
        try
        {
            estimated = StainEstimator.Estimate(sample, model, model.Background, "estimated on this slide");
        }
        catch (InvalidOperationException)
        {
            return new StainCheckResult(false, ["too little stain on the tissue to check the stain vectors"], null, null, null, p90, counterMedian);
        }
        double chromogenAngle = estimated[chromogenIndex].AngleDegrees(model[chromogenIndex]);
        double counterAngle = estimated[counterIndex].AngleDegrees(model[counterIndex]);
        var reasons = new List<string>();
        if (positivePct >= MinPositivePctToJudgeChromogen && chromogenAngle > MaxChromogenAngleDegrees)
            reasons.Add($"the chromogen on this slide is {chromogenAngle:0}° from the model's {model[chromogenIndex].Name} (limit {MaxChromogenAngleDegrees:0}°): another stain, e.g. eosin read as {model[chromogenIndex].Name}?");
        if (counterAngle > MaxCounterstainAngleDegrees)
            reasons.Add($"the counterstain on this slide is {counterAngle:0}° from the model's {model[counterIndex].Name} (limit {MaxCounterstainAngleDegrees:0}°)");
        return new StainCheckResult(reasons.Count > 0, reasons, estimated, Math.Round(chromogenAngle, 2), Math.Round(counterAngle, 2), p90, counterMedian);
    }

    /// <summary>Stain intensities of the sample under the model's deconvolution, for drift between runs.</summary>
    private static (double? PositiveChromogenP90, double? CounterstainMedian) Intensities(float[] od, StainSet model, int chromogen, int counter, double weak)
    {
        var positive = new List<double>();
        var counterstain = new List<double>(od.Length / 3);
        var inv = model.Inverse;
        for (int i = 0; i + 2 < od.Length; i += 3)
        {
            double c = od[i] * inv[0, chromogen] + od[i + 1] * inv[1, chromogen] + od[i + 2] * inv[2, chromogen];
            if (c >= weak)
                positive.Add(c);
            counterstain.Add(od[i] * inv[0, counter] + od[i + 1] * inv[1, counter] + od[i + 2] * inv[2, counter]);
        }
        double? p90 = positive.Count >= 500 ? Math.Round(Percentile(positive, 0.9), 4) : null;
        double? median = counterstain.Count > 0 ? Math.Round(Percentile(counterstain, 0.5), 4) : null;
        return (p90, median);
    }

    private static double Percentile(List<double> values, double q)
    {
        values.Sort();
        return values[Math.Min(values.Count - 1, (int)(q * values.Count))];
    }
}
