namespace HistoQuant.Tests;

/// <summary>
/// Tests that read process-wide state run alone: the GC allocation counter (other tests running beside them would
/// count against their budget) and Console.Error (other tests would write into what they capture).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresAllocations
{
    public const string Name = "measures allocations";
}
