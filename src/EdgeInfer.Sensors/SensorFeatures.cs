using System.Diagnostics.CodeAnalysis;

namespace EdgeInfer.Sensors;

/// <summary>
/// Feature switches, one per sensor driver. A device build names the sensors it carries (the MSBuild property
/// <c>EdgeInferSensors</c> in EdgeInfer.Device maps each to a trimmed RuntimeHostConfigurationOption); the trimmer
/// then replaces the property with a constant, so code under <c>if (SensorFeatures.IsBme280Supported)</c> and every
/// dependency only it reaches (the Bmxx80 binding and UnitsNet) leave the binary. Outside a trimmed build every
/// driver is present unless the runtime configuration switches it off.
/// </summary>
public static class SensorFeatures
{
    public const string Mpu6050Switch = "EdgeInfer.Sensors.Mpu6050.IsSupported";
    public const string Bme280Switch = "EdgeInfer.Sensors.Bme280.IsSupported";

    [FeatureSwitchDefinition(Mpu6050Switch)]
    public static bool IsMpu6050Supported => !AppContext.TryGetSwitch(Mpu6050Switch, out bool enabled) || enabled;

    [FeatureSwitchDefinition(Bme280Switch)]
    public static bool IsBme280Supported => !AppContext.TryGetSwitch(Bme280Switch, out bool enabled) || enabled;
}
