namespace EdgeInfer.Runtime.Tests.Int8;

internal static class Int8Data
{
    public static sbyte[] Random(Random rng, int count, int min = -128, int max = 127)
        => [.. Enumerable.Range(0, count).Select(_ => (sbyte)rng.Next(min, max + 1))];

    public static int[] RandomInts(Random rng, int count, int min, int max) => [.. Enumerable.Range(0, count).Select(_ => rng.Next(min, max))];

    public static float[] Scales(Random rng, int count, float min, float max)
        => [.. Enumerable.Range(0, count).Select(_ => (float)(min + rng.NextDouble() * (max - min)))];

    public static int Clamp8(int v, int min = -128, int max = 127) => Math.Clamp(v, min, max);
}
