using System.Globalization;
using ConsentFilter.Consent;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>The fast path for the common <c>…T…Z</c> form gives exactly what the general parser gives, or declines.</summary>
public sealed class IsoTimestampTests
{
    [Property(MaxTest = 2000)]
    public Property CommonForm_WhenAccepted_EqualsTheGeneralParser() => Prop.ForAll(
        (from year in Gen.Choose(0, 10000)
         from month in Gen.Choose(0, 13)
         from day in Gen.Choose(0, 32)
         from hour in Gen.Choose(0, 25)
         from minute in Gen.Choose(0, 61)
         from second in Gen.Choose(0, 61)
         from fraction in Gen.Elements("", ".", ".5", ".123", ".1234567", ".12345678", ",5", ".5x")
         from zone in Gen.Elements("Z", "z", "", "+00:00")
         select string.Create(CultureInfo.InvariantCulture, $"{year:0000}-{month:00}-{day:00}T{hour:00}:{minute:00}:{second:00}{fraction}{zone}")).ToArbitrary(),
        text =>
        {
            var fast = IsoTimestamp.TryParseCommonUtc(text, out var fastValue);
            var general = IsoTimestamp.TryParseAnyForm(text, out var generalValue);
            return (!fast || (general && fastValue == generalValue && fastValue.Offset == generalValue.Offset)).Label(text);
        });

    [Theory]
    [InlineData("2026-11-01T00:00:00Z", true)]
    [InlineData("2024-02-29T23:59:59.9999999Z", true)]
    [InlineData("2023-02-29T00:00:00Z", false)]
    [InlineData("2026-11-01T24:00:00Z", false)]
    [InlineData("2026-11-01T00:00:60Z", false)]
    [InlineData("0000-01-01T00:00:00Z", false)]
    [InlineData("2026-11-01 00:00:00Z", false)]
    [InlineData("２０２６-11-01T00:00:00Z", false)]
    public void CommonForm_AcceptsOnlyValidUtcTimestamps(string text, bool accepted)
    {
        Assert.Equal(accepted, IsoTimestamp.TryParseCommonUtc(text, out var value));
        if (accepted)
        {
            Assert.True(IsoTimestamp.TryParseAnyForm(text, out var general));
            Assert.Equal(general, value);
        }
    }

    [Theory]
    [InlineData("2026-01-01T10:00:00.Z", false)] // a fraction separator without a digit
    [InlineData("2026-01-01T10:00:00,", false)]
    [InlineData("2026-01-01T10:00:00+2:00", false)] // a one-digit offset hour
    [InlineData("2026-01-01T10:00:00+2", false)]
    [InlineData("2026-01-01T10:00:00+02:0", false)]
    [InlineData("2026-01-01T10:00:00.5Z", true)]
    [InlineData("2026-01-01T10:00:00+02:00", true)]
    [InlineData("2026-01-01T10:00:00-05", true)]
    [InlineData("2026-01-01T10:00", true)]
    [InlineData("2026-01-01", true)]
    [InlineData("2026-01-01+02:00", true)]
    public void AnyForm_DigitsWhereIsoWantsThem(string text, bool accepted) =>
        Assert.Equal(accepted, IsoTimestamp.TryParse(text, out _));
}
