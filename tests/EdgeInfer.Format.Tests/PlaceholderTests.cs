namespace EdgeInfer.Format.Tests;

public class PlaceholderTests
{
    [Fact]
    public void Project_Builds() => Assert.True(true);
}
