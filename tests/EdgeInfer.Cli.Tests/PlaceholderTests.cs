namespace EdgeInfer.Cli.Tests;

public class PlaceholderTests
{
    [Fact]
    public void Project_Builds() => Assert.True(true);
}
