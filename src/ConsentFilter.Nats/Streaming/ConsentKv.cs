using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using ConsentFilter.Consent;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Streaming;

/// <summary>How consent rows live in a JetStream key-value bucket: one key per user, one JSON value per key.</summary>
/// <remarks>
/// Keys: NATS keys allow only <c>[-/_=.a-zA-Z0-9]</c>, so a key is the unpadded base64url of the user id's exact UTF-8
/// bytes (<c>alice</c> → <c>YWxpY2U</c>): reversible, case-preserving, never starting or ending with a dot.
/// Values: <c>{"regions":["DE"],"gpc":false,"minor":false,"purposes":{"ai_training":"granted"}}</c>; purpose values use
/// the consent CSV's spellings, booleans may also be the CSV's strings. See docs/streaming.md.
/// </remarks>
public static partial class ConsentKv
{
    /// <summary>The bucket key of a user id.</summary>
    public static string EncodeKey(ReadOnlySpan<byte> userId) => Base64Url.EncodeToString(userId);

    /// <summary>The user id bytes of a bucket key; false when the key is not unpadded base64url.</summary>
    public static bool TryDecodeKey(string key, out byte[] userId)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || !Base64Url.IsValid(key.AsSpan()))
        {
            userId = [];
            return false;
        }

        userId = Base64Url.DecodeFromChars(key.AsSpan());
        return userId.Length > 0;
    }

    /// <summary>The bucket value of one user's consent.</summary>
    public static byte[] EncodeValue(UserConsent consent, IReadOnlyList<string> purposes)
    {
        ArgumentNullException.ThrowIfNull(purposes);
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("regions"u8);
            foreach (var region in consent.HomeRegions)
            {
                json.WriteStringValue(region);
            }

            json.WriteEndArray();
            json.WriteBoolean("gpc"u8, consent.Gpc);
            json.WriteBoolean("minor"u8, consent.Minor);
            json.WriteStartObject("purposes"u8);
            for (var i = 0; i < purposes.Count; i++)
            {
                json.WriteString(purposes[i], consent.States[i].ToName());
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Parses a bucket value for <paramref name="purposes"/>; false when it is not a valid value or lacks one of the purposes.
    /// </summary>
    /// <remarks>The caller fails closed on false: the user is held as denied for every purpose.</remarks>
    public static bool TryDecodeValue(ReadOnlySpan<byte> value, IReadOnlyList<string> purposes, out UserConsent consent)
    {
        ArgumentNullException.ThrowIfNull(purposes);
        consent = default;
        try
        {
            var reader = new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var regions = new List<string>();
            if (root.TryGetProperty("regions"u8, out var regionArray))
            {
                if (regionArray.ValueKind != JsonValueKind.Array)
                {
                    return false;
                }

                foreach (var region in regionArray.EnumerateArray())
                {
                    if (region.ValueKind != JsonValueKind.String)
                    {
                        return false;
                    }

                    var normalized = Jurisdictions.RegionCode.Normalize(region.GetString()!);
                    if (normalized.Length > 0 && !regions.Contains(normalized))
                    {
                        regions.Add(normalized);
                    }
                }
            }

            if (!TryBoolean(root, "gpc"u8, out var gpc) || !TryBoolean(root, "minor"u8, out var minor)
                || !root.TryGetProperty("purposes"u8, out var states) || states.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var packed = PurposeStates.AllUnset;
            for (var i = 0; i < purposes.Count; i++)
            {
                if (!TryState(states, purposes[i], out var state))
                {
                    return false;
                }

                packed = packed.With(i, state);
            }

            consent = new UserConsent(packed, gpc, minor, [.. regions]);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not text (an escaped lone surrogate) cannot be read.
            return false;
        }
    }

    /// <summary>The consent held for a user whose bucket value cannot be read: denied for every purpose (fail-closed).</summary>
    internal static UserConsent Unreadable(int purposeCount)
    {
        var states = PurposeStates.AllUnset;
        for (var i = 0; i < purposeCount; i++)
        {
            states = states.With(i, ConsentState.Denied);
        }

        return new UserConsent(states, false, false, []);
    }

    /// <summary>What one bucket entry does to the user it names; the one rule every reader of the bucket applies.</summary>
    /// <remarks>
    /// A put sets the user (an unreadable value holds them as denied for every purpose, fail-closed); a delete or purge
    /// removes them; a key this encoding never produces is ignored, since no record's user can look it up.
    /// </remarks>
    internal static KvChange Decode(NatsKVEntry<byte[]> entry, IReadOnlyList<string> purposes, out byte[] userId, out UserConsent consent)
    {
        consent = default;
        if (!TryDecodeKey(entry.Key, out userId))
        {
            return KvChange.Ignored;
        }

        if (entry.Operation is NatsKVOperation.Del or NatsKVOperation.Purge)
        {
            return KvChange.Removed;
        }

        if (TryDecodeValue(entry.Value ?? [], purposes, out consent))
        {
            return KvChange.Put;
        }

        consent = Unreadable(purposes.Count);
        return KvChange.Unreadable;
    }

    /// <summary>Writes every user of <paramref name="snapshot"/> into the bucket, creating the bucket when it does not exist.</summary>
    /// <returns>The number of users written.</returns>
    /// <remarks>Users the bucket holds but the snapshot does not are left alone: delete them explicitly to revoke.</remarks>
    public static async Task<long> PublishAsync(INatsConnection connection, string bucket, ConsentSnapshot snapshot, int maxInFlight = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        var kv = connection.CreateKeyValueStoreContext();
        var store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(bucket), cancellationToken).ConfigureAwait(false);
        var pending = new List<Task>(maxInFlight);
        long written = 0;
        foreach (var (userId, consent) in snapshot.Users)
        {
            pending.Add(store.PutAsync(EncodeKey(userId), EncodeValue(consent, snapshot.Purposes), cancellationToken: cancellationToken).AsTask());
            written++;
            if (pending.Count == maxInFlight)
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        return written;
    }

    private static bool TryBoolean(JsonElement root, ReadOnlySpan<byte> name, out bool value)
    {
        value = false;
        if (!root.TryGetProperty(name, out var element))
        {
            return true;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                value = true;
                return true;
            case JsonValueKind.False:
                return true;
            case JsonValueKind.String:
                return ConsentValues.TryParseBoolean(element.GetString(), out value);
            default:
                return false;
        }
    }

    private static bool TryState(JsonElement states, string purpose, out ConsentState state)
    {
        foreach (var property in states.EnumerateObject())
        {
            if (string.Equals(property.Name, purpose, StringComparison.OrdinalIgnoreCase))
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    return ConsentValues.TryParseState(property.Value.GetString(), out state);
                }

                break;
            }
        }

        state = ConsentState.Denied;
        return false;
    }
}

/// <summary>The effect of one bucket entry (see <see cref="ConsentKv.Decode"/>).</summary>
internal enum KvChange
{
    /// <summary>Not a key this encoding produces: no user is affected.</summary>
    Ignored,

    /// <summary>The user's consent is set.</summary>
    Put,

    /// <summary>The value could not be read: the user is held as denied for every purpose.</summary>
    Unreadable,

    /// <summary>The user was deleted or purged.</summary>
    Removed,
}
