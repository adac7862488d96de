using EdgeInfer.Sensors.Drivers;
using EdgeInfer.Sensors.Tests.Simulation;

namespace EdgeInfer.Sensors.Tests;

/// <summary>The MPU-6050 source over the real dotnet/iot binding, talking to a simulated register map.</summary>
public sealed class Mpu6050SourceTests
{
    private static (SimulatedMpu6050 Chip, Mpu6050Source Source) Open(Mpu6050Settings? settings = null)
    {
        var chip = new SimulatedMpu6050();
        return (chip, new Mpu6050Source(chip, shouldDispose: true, settings));
    }

    [Fact]
    public void Constructor_ConfiguresRangesRateAndDataReadyInterrupt()
    {
        var (chip, source) = Open(new Mpu6050Settings { AccelerometerRangeG = 8, GyroscopeRangeDps = 1000, SampleRateHz = 100 });
        using (source)
        {
            Assert.Equal(8f, chip.AccelRangeG);
            Assert.Equal(1000f, chip.GyroRangeDps);
            Assert.Equal(9, chip.Registers[SimulatedMpu6050.SmplrtDiv]); // 1000 / (1 + 9) = 100 Hz
            Assert.Equal(4, chip.Registers[SimulatedMpu6050.Config] & 7); // DLPF 20 Hz
            Assert.Equal(1, chip.Registers[SimulatedMpu6050.IntEnable]);
            Assert.Equal(["ax", "ay", "az", "gx", "gy", "gz"], source.ChannelNames);
        }
    }

    [Fact]
    public void TryRead_ReturnsAllSixAxesOfOneSample_InGAndDegreesPerSecond()
    {
        var (chip, source) = Open();
        chip.Motion = _ => (0.5f, -1f, 1f, 100f, -250f, 0f);
        using (source)
        {
            Assert.True(source.TryRead(out Reading r));
            Assert.Equal(SensorFault.None, source.LastFault);
            Assert.Equal(6, r.ChannelCount);

            // ±4 g: 8192 LSB/g; ±500 °/s: 65.536 LSB/(°/s); the value is what the counts mean, not the input.
            Assert.Equal(4096 * (4f / 32768f), r[0]);
            Assert.Equal(-8192 * (4f / 32768f), r[1]);
            Assert.Equal(8192 * (4f / 32768f), r[2]);
            Assert.Equal(6554 * (500f / 32768f), r[3]);
            Assert.Equal(-16384 * (500f / 32768f), r[4]);
            Assert.Equal(0f, r[5]);
        }
    }

    [Fact]
    public void TryRead_WithoutNewSample_IsNotReady_AndNeverRepeatsTheLastOne()
    {
        var (chip, source) = Open();
        using (source)
        {
            Assert.True(source.TryRead(out _));
            chip.NotReadyReads = 2;
            Assert.False(source.TryRead(out Reading stale));
            Assert.Equal(SensorFault.NotReady, source.LastFault);
            Assert.Equal(0, stale.ChannelCount);
            Assert.False(source.TryRead(out _));
            Assert.True(source.TryRead(out _));
        }
    }

    [Fact]
    public void TryRead_Nack_IsBusError_ThenRecovers()
    {
        var (chip, source) = Open();
        using (source)
        {
            chip.Inject(BusFault.Nack);
            Assert.False(source.TryRead(out Reading r));
            Assert.Equal(SensorFault.BusError, source.LastFault);
            Assert.Equal(0, r.ChannelCount);
            Assert.True(source.TryRead(out _));
            Assert.Equal(SensorFault.None, source.LastFault);
        }
    }

    [Fact]
    public void TryRead_TransferTimeout_IsTimeout()
    {
        var (chip, source) = Open();
        using (source)
        {
            chip.Inject(BusFault.Timeout);
            Assert.False(source.TryRead(out _));
            Assert.Equal(SensorFault.Timeout, source.LastFault);
            Assert.True(source.TryRead(out _));
        }
    }

    [Fact]
    public void TryRead_FrozenRegisters_AreStuck_UntilTheDataMovesAgain()
    {
        var (chip, source) = Open();
        using (source)
        {
            Assert.True(source.TryRead(out _));
            chip.Frozen = true;
            Assert.False(source.TryRead(out _));
            Assert.Equal(SensorFault.Stuck, source.LastFault);
            Assert.False(source.TryRead(out _));
            chip.Frozen = false;
            Assert.True(source.TryRead(out _));
        }
    }

    [Fact]
    public void TryRead_ValueOnTheAdcRail_IsOutOfRange()
    {
        var (chip, source) = Open();
        using (source)
        {
            chip.Motion = n => (n == 1 ? 9f : 0.1f, 0f, 1f, 0f, 0f, n * 0.5f); // 9 g clips at ±4 g
            Assert.True(source.TryRead(out _));
            Assert.False(source.TryRead(out _));
            Assert.Equal(SensorFault.OutOfRange, source.LastFault);
            Assert.True(source.TryRead(out _));
        }
    }

    [Fact]
    public void Constructor_NoDeviceOnTheBus_ThrowsIOException()
    {
        var chip = new SimulatedMpu6050 { Permanent = BusFault.Nack };
        Assert.Throws<IOException>(() => new Mpu6050Source(chip));
    }

    [Fact]
    public void Constructor_WrongChip_ThrowsIOException()
    {
        var chip = new SimulatedMpu6050(whoAmI: 0x70);
        Assert.Throws<IOException>(() => new Mpu6050Source(chip));
    }

    [Theory]
    [InlineData(3, 500, 50)]
    [InlineData(4, 300, 50)]
    [InlineData(4, 500, 3)]
    [InlineData(4, 500, 0)]
    public void Constructor_ImpossibleSettings_ThrowBeforeTouchingTheBus(int g, int dps, int rate)
    {
        var chip = new SimulatedMpu6050();
        Assert.Throws<ArgumentException>(() => new Mpu6050Source(chip, settings: new Mpu6050Settings { AccelerometerRangeG = g, GyroscopeRangeDps = dps, SampleRateHz = rate }));
        Assert.Equal(0, chip.Transfers);
    }

    [Fact]
    public void Dispose_DisposesTheDeviceOnlyWhenOwned()
    {
        var owned = new SimulatedMpu6050();
        new Mpu6050Source(owned, shouldDispose: true).Dispose();
        Assert.True(owned.IsDisposed);

        var borrowed = new SimulatedMpu6050();
        new Mpu6050Source(borrowed, shouldDispose: false).Dispose();
        Assert.False(borrowed.IsDisposed);
    }

    [Fact]
    public void TryRead_SteadyState_AllocatesNothing()
    {
        var (_, source) = Open();
        using (source)
        {
            source.TryRead(out _);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Assert.True(source.TryRead(out _));
            }

            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        }
    }
}
