namespace HistoQuant.Tests;

/// <summary>
/// Tests that bound allocations with the process-wide GC counter run alone: other tests running beside them would
/// count against their budget.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresAllocations
{
    public const string Name = "measures allocations";
}
