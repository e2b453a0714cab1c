namespace ConsentFilter.Decisions;

/// <summary>What to do with a subject the consent snapshot does not hold.</summary>
public enum UnknownUserPolicy
{
    /// <summary>Drop the record with reason <c>unknown_user</c> (fail-closed; the default).</summary>
    Drop = 0,

    /// <summary>Judge the user as having made no choice and no home region (an opt-out region may then keep it).</summary>
    TreatAsUnset = 1,
}
