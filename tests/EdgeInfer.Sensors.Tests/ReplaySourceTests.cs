using EdgeInfer.Sensors.Replay;

namespace EdgeInfer.Sensors.Tests;

public sealed class ReplaySourceTests
{
    [Fact]
    public void Parse_ReadsRowsWithTimestamps_ThenEnds()
    {
        using ReplaySource source = ReplaySource.Parse("timestamp_us,ax,ay\n0,1.5,-2\r\n\n20000, 3 ,4e-1\n", "rec.csv");
        Assert.Equal(["ax", "ay"], source.ChannelNames);
        Assert.True(source.TryRead(out Reading a));
        Assert.Equal((0L, 1.5f, -2f), (a.TimestampMicros, a[0], a[1]));
        Assert.True(source.TryRead(out Reading b));
        Assert.Equal((20000L, 3f, 0.4f), (b.TimestampMicros, b[0], b[1]));
        Assert.False(source.TryRead(out _));
        Assert.Equal(SensorFault.EndOfStream, source.LastFault);
    }

    [Theory]
    [InlineData("", "rec.csv: the recording is empty")]
    [InlineData("time,ax\n0,1\n", "rec.csv:1: the first header column must be timestamp_us")]
    [InlineData("timestamp_us\n0\n", "rec.csv:1: the header names no channel")]
    [InlineData("timestamp_us,ax\n", "rec.csv: the recording has a header but no samples")]
    [InlineData("timestamp_us,ax\n0,1\n10,x\n", "rec.csv:3: column 2 value 'x' is not a finite number")]
    [InlineData("timestamp_us,ax\n0,1\n10\n", "rec.csv:3: expected 2 columns")]
    [InlineData("timestamp_us,ax\n10,1\n0,1\n", "rec.csv:3: timestamp 0 goes back in time")]
    [InlineData("timestamp_us,ax\n1.5,1\n", "rec.csv:2: timestamp_us '1.5' is not an integer")]
    [InlineData("timestamp_us,ax,ax\n0,1,2\n", "rec.csv:1: channel 'ax' is named twice")]
    public void Parse_BadRecording_NamesFileLineAndProblem(string text, string expected)
    {
        var e = Assert.Throws<ReplayFormatException>(() => ReplaySource.Parse(text, "rec.csv"));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_MissingFile_NamesIt()
    {
        var e = Assert.Throws<ReplayFormatException>(() => ReplaySource.Open("/nonexistent/rec.csv"));
        Assert.StartsWith("/nonexistent/rec.csv: cannot read the recording", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_AllocatesNothing()
    {
        using ReplaySource source = ReplaySource.Open(Fixtures.Path("accel/accel_recording.csv"));
        source.TryRead(out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (source.TryRead(out _))
        {
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(3000, source.SampleCount);
    }
}
