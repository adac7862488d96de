using System.Device.I2c;

namespace EdgeInfer.Sensors.Tests.Simulation;

/// <summary>What the next bus transfers do instead of succeeding.</summary>
public enum BusFault
{
    None,

    /// <summary>The device does not acknowledge: the Linux driver's EREMOTEIO surfaces as IOException.</summary>
    Nack,

    /// <summary>The transfer never completes in time.</summary>
    Timeout,
}

/// <summary>
/// A register-file I2C target, the way most sensors behave: a write sets the register pointer from its first byte and
/// stores the rest at consecutive registers; a read returns consecutive registers from the pointer. Subclasses model a
/// chip by reacting to register writes (<see cref="OnWrite"/>) and reads (<see cref="OnRead"/>). Faults are scripted per
/// transfer, so a test knows exactly how many transfers failed. Every transfer, failed or not, is counted.
/// </summary>
public abstract class SimulatedI2cDevice : I2cDevice
{
    private readonly Queue<BusFault> _faults = new();
    private byte _pointer;

    protected SimulatedI2cDevice(int address) => ConnectionSettings = new I2cConnectionSettings(1, address);

    public override I2cConnectionSettings ConnectionSettings { get; }

    /// <summary>The register file; tests may poke it.</summary>
    public byte[] Registers { get; } = new byte[256];

    public int Transfers { get; private set; }

    public int FailedTransfers { get; private set; }

    public bool IsDisposed { get; private set; }

    /// <summary>The next <paramref name="count"/> transfers fail with <paramref name="fault"/>.</summary>
    public void Inject(BusFault fault, int count = 1)
    {
        for (int i = 0; i < count; i++)
        {
            _faults.Enqueue(fault);
        }
    }

    /// <summary>Every transfer fails from now on (the sensor fell off the bus), or works again.</summary>
    public BusFault Permanent { get; set; }

    public override void Read(Span<byte> buffer)
    {
        Transfer();
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = OnRead(_pointer++);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Transfer();
        WriteCore(buffer);
    }

    /// <summary>One combined transfer (repeated start): one fault check for the whole exchange.</summary>
    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Transfer();
        WriteCore(writeBuffer);
        for (int i = 0; i < readBuffer.Length; i++)
        {
            readBuffer[i] = OnRead(_pointer++);
        }
    }

    protected virtual byte OnRead(byte register) => Registers[register];

    protected virtual void OnWrite(byte register, byte value) => Registers[register] = value;

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }

    private void WriteCore(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return;
        }

        _pointer = buffer[0];
        for (int i = 1; i < buffer.Length; i++)
        {
            OnWrite(_pointer++, buffer[i]);
        }
    }

    private void Transfer()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Transfers++;
        BusFault fault = _faults.Count > 0 ? _faults.Dequeue() : Permanent;
        switch (fault)
        {
            case BusFault.Nack:
                FailedTransfers++;
                throw new IOException($"Error 121 performing I2C data transfer (simulated NACK at 0x{ConnectionSettings.DeviceAddress:x2})");
            case BusFault.Timeout:
                FailedTransfers++;
                throw new TimeoutException($"I2C transfer to 0x{ConnectionSettings.DeviceAddress:x2} timed out (simulated)");
        }
    }
}
