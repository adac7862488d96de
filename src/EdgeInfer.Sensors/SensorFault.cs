namespace EdgeInfer.Sensors;

/// <summary>Why the last <see cref="ISampleSource.TryRead"/> returned false. Stable numbers; append only.</summary>
public enum SensorFault
{
    /// <summary>The last read succeeded.</summary>
    None = 0,

    /// <summary>The sensor has no sample newer than the one already returned; poll again later (not a fault yet).</summary>
    NotReady = 1,

    /// <summary>The bus transfer failed: NACK, arbitration loss, EREMOTEIO — an <see cref="IOException"/>. Worth a retry.</summary>
    BusError = 2,

    /// <summary>The bus or the sensor did not answer in time (a driver timeout, or no new sample before the deadline).</summary>
    Timeout = 3,

    /// <summary>The sensor returned exactly the raw values it returned before: a frozen register file, not a measurement.</summary>
    Stuck = 4,

    /// <summary>A value the sensor cannot produce or that saturates its range, so the true value is unknown.</summary>
    OutOfRange = 5,

    /// <summary>A replay has no more rows. Not a fault: the loop ends.</summary>
    EndOfStream = 6,
}
