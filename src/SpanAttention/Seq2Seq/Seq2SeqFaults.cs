namespace SpanAttention.Seq2Seq;

/// <summary>
/// The test seam of <see cref="Seq2SeqModel"/>: deliberate faults (a wrong backward that a gradient check must
/// catch) and a switch to the reference path an optimisation is checked against. Tests set it through
/// InternalsVisibleTo; production code never does, so <see cref="None"/> is always in effect there.
/// </summary>
/// <remarks>The model reads these once per pass, outside its loops.</remarks>
internal sealed class Seq2SeqFaults
{
    /// <summary>No fault: what every model uses unless a test says otherwise.</summary>
    public static readonly Seq2SeqFaults None = new();

    /// <summary>Backward drops the attention query's gradient.</summary>
    public bool DropQueryGradient { get; init; }

    /// <summary>Backward ignores the dropout masks.</summary>
    public bool SkipDropoutBackward { get; init; }

    /// <summary>The teacher-forced pass projects every row directly instead of through the per-token input tables.</summary>
    public bool DisableInputTables { get; init; }
}
