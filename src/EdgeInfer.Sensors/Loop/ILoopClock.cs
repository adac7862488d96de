using System.Diagnostics;

namespace EdgeInfer.Sensors.Loop;

/// <summary>The loop's notion of time, in microseconds since it started; a test clock can run faster than real time.</summary>
public interface ILoopClock
{
    long NowMicros { get; }

    /// <summary>Waits until <paramref name="micros"/> or until <paramref name="cancellation"/> is signalled.</summary>
    void SleepUntil(long micros, CancellationToken cancellation);
}

/// <summary>Monotonic time (Stopwatch) and real sleeps, in slices so a stop request is seen within 50 ms.</summary>
public sealed class SystemLoopClock : ILoopClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public long NowMicros => (long)Stopwatch.GetElapsedTime(_start).Ticks / (TimeSpan.TicksPerMillisecond / 1000);

    public void SleepUntil(long micros, CancellationToken cancellation)
    {
        while (!cancellation.IsCancellationRequested)
        {
            long remaining = micros - NowMicros;
            if (remaining <= 0)
            {
                return;
            }

            Thread.Sleep(TimeSpan.FromTicks(Math.Min(remaining, 50_000) * 10));
        }
    }
}
