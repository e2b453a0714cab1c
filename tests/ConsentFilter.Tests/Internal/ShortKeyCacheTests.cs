using ConsentFilter.Internal;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Internal;

/// <summary>The short-key cache never answers for a key it was not given: checked against a dictionary of what was set.</summary>
public sealed class ShortKeyCacheTests
{
    [Property(MaxTest = 200)]
    public Property TryGet_ReturnsOnlyTheValueLastSetForThatExactKey() => Prop.ForAll(
        Gen.ArrayOf(Gen.Zip(
                Gen.ArrayOf(Gen.Elements<byte>(0, 1, (byte)'U', (byte)'S', 0xFF)).Select(k => k.Take(10).ToArray()),
                Gen.Elements(true, false)))
            .ToArbitrary(),
        operations =>
        {
            // Few distinct bytes, NULs and keys past 8 bytes: keys that pack alike but for their length, keys that share
            // a slot, keys that are never stored.
            var cache = new ShortKeyCache<string>();
            var stored = new Dictionary<string, string>();
            var n = 0;
            foreach (var (key, set) in operations)
            {
                var name = Convert.ToHexString(key);
                if (set)
                {
                    var value = $"v{n++}";
                    cache.Set(key, value);
                    if (key.Length <= ShortKeyCache<string>.MaxKeyLength)
                    {
                        stored[name] = value;
                    }
                }
                else if (cache.TryGet(key, out var found) && (!stored.TryGetValue(name, out var expected) || found != expected))
                {
                    return false.Label($"{name} gave {found}");
                }
            }

            return true.ToProperty();
        });
}
