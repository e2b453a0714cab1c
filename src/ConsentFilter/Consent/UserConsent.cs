namespace ConsentFilter.Consent;

/// <summary>One user's consent as the snapshot holds it, after duplicate rows are merged.</summary>
/// <param name="States">Consent per purpose, in the order of <see cref="IConsentSnapshot.Purposes"/>.</param>
/// <param name="Gpc">Whether the user sent a Global Privacy Control signal.</param>
/// <param name="Minor">Whether the user is a minor.</param>
/// <param name="HomeRegions">The user's home regions, normalized; empty when none is known. Several after a conflict.</param>
public readonly record struct UserConsent(PurposeStates States, bool Gpc, bool Minor, string[] HomeRegions)
{
    /// <summary>The consent of a user the snapshot does not hold, when the policy treats such users as unset.</summary>
    public static UserConsent UnknownAsUnset { get; } = new(PurposeStates.AllUnset, false, false, []);
}

/// <summary>Consent states for up to 32 purposes packed in two bits each.</summary>
public readonly record struct PurposeStates(ulong Bits)
{
    /// <summary>The most purposes one snapshot can hold.</summary>
    public const int MaxPurposes = 32;

    /// <summary>Every purpose unset.</summary>
    public static PurposeStates AllUnset { get; } = new(0x5555_5555_5555_5555UL);

    /// <summary>The state for the purpose at <paramref name="index"/>.</summary>
    public ConsentState this[int index] => (ConsentState)((Bits >> (index * 2)) & 0b11);

    /// <summary>A copy with the purpose at <paramref name="index"/> set to <paramref name="state"/>.</summary>
    public PurposeStates With(int index, ConsentState state) =>
        new((Bits & ~(0b11UL << (index * 2))) | ((ulong)state << (index * 2)));

    /// <summary>The most restrictive state per purpose of two sets.</summary>
    public PurposeStates MergeStrictest(PurposeStates other, int purposeCount)
    {
        var result = this;
        for (var i = 0; i < purposeCount; i++)
        {
            if (other[i] > result[i])
            {
                result = result.With(i, other[i]);
            }
        }

        return result;
    }
}
