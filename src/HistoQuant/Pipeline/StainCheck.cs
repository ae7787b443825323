using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

/// <summary>What the stain check found on one slide (results.csv `stain_check`, details in results.json).</summary>
/// <param name="Estimated">The two stain vectors estimated on the slide's tissue (Macenko), named like the model's; null when there was too little stain to estimate.</param>
public sealed record StainCheckResult(bool Mismatch, IReadOnlyList<string> Reasons, StainSet? Estimated, double? ChromogenAngle, double? CounterstainAngle)
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

    public static StainCheckResult Run(ISlide slide, TissueMask tissue, StainSet model, int chromogenIndex, double positivePct)
    {
        // Fewer tiles than `stains estimate` reads: the check needs directions, not precise vectors.
        var sample = StainSampler.Sample(slide, tissue, model.Background, maxTiles: 24, step: 4);
        StainSet estimated;
        try
        {
            estimated = StainEstimator.Estimate(sample, model, model.Background, "estimated on this slide");
        }
        catch (InvalidOperationException)
        {
            return new StainCheckResult(false, ["too little stain on the tissue to check the stain vectors"], null, null, null);
        }
        int counterIndex = chromogenIndex == 0 ? 1 : 0;
        double chromogenAngle = estimated[chromogenIndex].AngleDegrees(model[chromogenIndex]);
        double counterAngle = estimated[counterIndex].AngleDegrees(model[counterIndex]);
        var reasons = new List<string>();
        if (positivePct >= MinPositivePctToJudgeChromogen && chromogenAngle > MaxChromogenAngleDegrees)
            reasons.Add($"the chromogen on this slide is {chromogenAngle:0}° from the model's {model[chromogenIndex].Name} (limit {MaxChromogenAngleDegrees:0}°): another stain, e.g. eosin read as {model[chromogenIndex].Name}?");
        if (counterAngle > MaxCounterstainAngleDegrees)
            reasons.Add($"the counterstain on this slide is {counterAngle:0}° from the model's {model[counterIndex].Name} (limit {MaxCounterstainAngleDegrees:0}°)");
        return new StainCheckResult(reasons.Count > 0, reasons, estimated, Math.Round(chromogenAngle, 2), Math.Round(counterAngle, 2));
    }
}
