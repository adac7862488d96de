using EdgeInfer.Sensors.Drivers;
using EdgeInfer.Sensors.Tests.Simulation;

namespace EdgeInfer.Sensors.Tests;

/// <summary>The BME280 source over the real dotnet/iot binding, talking to a simulated register map.</summary>
public sealed class Bme280SourceTests
{
    [Fact]
    public void TryRead_DatasheetExample_GivesItsTemperatureAndPressure()
    {
        var chip = new SimulatedBme280 { Adc = _ => (519888, 415148, 30000) };
        using var source = new Bme280Source(chip, settings: new Bme280Settings { StuckLimit = 100 });
        Assert.True(source.TryRead(out Reading r));
        Assert.Equal(["temperature", "pressure", "humidity"], source.ChannelNames);

        // Bosch BMP280 datasheet, section 8.2: 25.08 °C and 100653.27 Pa.
        Assert.Equal(25.08f, r[0], 0.01f);
        Assert.Equal(1006.5327f, r[1], 0.01f);
        Assert.InRange(r[2], 0f, 100f);
    }

    [Theory]
    [InlineData(519888, 415148, 30000)]
    [InlineData(510000, 430000, 25000)]
    [InlineData(530000, 400000, 35000)]
    public void TryRead_AgreesWithTheBindingsOwnCompensation(int adcT, int adcP, int adcH)
    {
        var chip = new SimulatedBme280 { Adc = _ => (adcT, adcP, adcH) };
        using var source = new Bme280Source(chip, shouldDispose: false, new Bme280Settings { StuckLimit = 100 });
        Assert.True(source.TryRead(out Reading r));

        // The dotnet/iot binding's floating-point compensation of the same raw values (its constructor resets the
        // chip, so it starts its own conversion), as the peer reference for our integer one.
        using var binding = new Iot.Device.Bmxx80.Bme280(chip);
        binding.SetPowerMode(Iot.Device.Bmxx80.PowerMode.Bmx280PowerMode.Forced);
        Assert.True(binding.TryReadTemperature(out var t));
        Assert.True(binding.TryReadPressure(out var p));
        Assert.True(binding.TryReadHumidity(out var h));
        Assert.Equal(t.DegreesCelsius, r[0], 0.01);
        Assert.Equal(p.Hectopascals, r[1], 0.01);
        Assert.Equal(h.Percent, r[2], 0.05);
    }

    [Fact]
    public void TryRead_StartsOneForcedConversionPerSample()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip);
        long start = chip.Conversions;
        for (int i = 0; i < 5; i++)
        {
            Assert.True(source.TryRead(out _));
        }

        Assert.Equal(start + 5, chip.Conversions);
    }

    [Fact]
    public void TryRead_WhileMeasuring_IsNotReady_ThenReturnsTheNewConversion()
    {
        var chip = new SimulatedBme280 { ConversionStatusReads = 2 };
        using var source = new Bme280Source(chip);
        Assert.False(source.TryRead(out _));
        Assert.Equal(SensorFault.NotReady, source.LastFault);
        Assert.False(source.TryRead(out _));
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void TryRead_Nack_IsBusError_ThenRecovers()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip);
        chip.Inject(BusFault.Nack);
        Assert.False(source.TryRead(out Reading r));
        Assert.Equal(SensorFault.BusError, source.LastFault);
        Assert.Equal(0, r.ChannelCount);
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void TryRead_Timeout_IsTimeout()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip);
        chip.Inject(BusFault.Timeout);
        Assert.False(source.TryRead(out _));
        Assert.Equal(SensorFault.Timeout, source.LastFault);
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void TryRead_FailedConversionStart_NeverReturnsTheOldConversion()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip);
        Assert.True(source.TryRead(out _));

        // One read is 3 transfers (status register pointer and value, data burst); the 4th starts the next
        // conversion. Fail exactly that one: the sample just read is good, the next read must not return it again.
        long conversions = chip.Conversions;
        chip.Inject(BusFault.None, 3);
        chip.Inject(BusFault.Nack);
        Assert.True(source.TryRead(out _));
        Assert.Equal(conversions, chip.Conversions);
        Assert.False(source.TryRead(out _));
        Assert.Equal(SensorFault.NotReady, source.LastFault);
        Assert.Equal(conversions + 1, chip.Conversions);
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void TryRead_BrownOutReset_IsOutOfRange_AndReconfigures()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip, settings: new Bme280Settings { Oversampling = 4 });
        Assert.True(source.TryRead(out _));
        chip.PowerOnReset(); // data registers at 0x80000, oversampling forgotten
        Assert.False(source.TryRead(out _));
        Assert.Equal(SensorFault.OutOfRange, source.LastFault);
        Assert.Equal(3, chip.Registers[SimulatedBme280.CtrlHum] & 7); // x4 again
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void TryRead_FrozenChip_IsStuckAfterTheLimit()
    {
        var chip = new SimulatedBme280();
        using var source = new Bme280Source(chip, settings: new Bme280Settings { StuckLimit = 3 });
        Assert.True(source.TryRead(out _));
        chip.Frozen = true;
        Assert.True(source.TryRead(out _)); // the conversion started before the freeze
        Assert.True(source.TryRead(out _)); // repeat 1
        Assert.True(source.TryRead(out _)); // repeat 2
        Assert.False(source.TryRead(out _)); // repeat 3
        Assert.Equal(SensorFault.Stuck, source.LastFault);
        chip.Frozen = false;
        Assert.False(source.TryRead(out _)); // converted while still frozen
        Assert.True(source.TryRead(out _));
    }

    [Fact]
    public void Constructor_NoDeviceOnTheBus_ThrowsIOException()
    {
        var chip = new SimulatedBme280 { Permanent = BusFault.Nack };
        Assert.Throws<IOException>(() => new Bme280Source(chip));
    }

    [Fact]
    public void Constructor_BadOversampling_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Bme280Source(new SimulatedBme280(), settings: new Bme280Settings { Oversampling = 3 }));
    }
}
