using System.Diagnostics.Tracing;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Diagnostic for <c>seq2seq-json --trace-alloc</c>: listens to the runtime's GC AllocationTick events (one per
/// ~100 KB allocated on a thread) and prints the type that crossed the threshold, so an unexpected allocation in
/// a timed run can be attributed. Allocates itself (on the event dispatch thread); use only to diagnose.
/// </summary>
internal sealed class AllocationTracer : EventListener
{
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not null && eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) && eventData.Payload is not null)
        {
            int typeIndex = eventData.PayloadNames?.IndexOf("TypeName") ?? -1;
            int amountIndex = eventData.PayloadNames?.IndexOf("AllocationAmount64") ?? -1;
            Console.Error.WriteLine($"alloc-tick: thread {eventData.OSThreadId} type {(typeIndex >= 0 ? eventData.Payload[typeIndex] : "?")} amount {(amountIndex >= 0 ? eventData.Payload[amountIndex] : "?")}");
        }
    }
}
