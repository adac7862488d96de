using System.Globalization;
using System.Text.Unicode;
using EdgeInfer.Sensors.Loop;

namespace EdgeInfer.Device;

/// <summary>
/// The periodic status line on stderr, e.g.
/// <c>edgeinfer-device: status windows=92 inferences=90 discarded=2 gaps=3 faults=4 (bus=1 timeout=2 stuck=1 range=0) latency_us avg=210 max=388</c>.
/// Formatted with UTF-8 interpolation into a buffer allocated here, so a report allocates nothing.
/// </summary>
public sealed class StatusWriter : IStatusReporter
{
    private readonly Stream _output;
    private readonly byte[] _buffer = new byte[512];

    public StatusWriter(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    public void Report(LoopCounters counters, bool final)
    {
        ArgumentNullException.ThrowIfNull(counters);
        long average = counters.Inferences > 0 ? counters.LatencyTotalMicros / counters.Inferences : 0;
        ReadOnlySpan<char> kind = final ? "final" : "status";
        if (Utf8.TryWrite(_buffer, CultureInfo.InvariantCulture,
            $"edgeinfer-device: {kind} windows={counters.Windows} inferences={counters.Inferences} discarded={counters.WindowsDiscarded} gaps={counters.Gaps} faults={counters.Faults} (bus={counters.BusErrors} timeout={counters.Timeouts} stuck={counters.Stuck} range={counters.OutOfRange}) latency_us avg={average} max={counters.LatencyMaxMicros}\n",
            out int written))
        {
            _output.Write(_buffer, 0, written);
            _output.Flush();
        }
    }
}
