using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace ConsentFilter.Cli;

/// <summary>
/// The linux-x64 native package carries the executable twice, compiled from the same code for two instruction sets:
/// <c>consentfilter</c> for x86-64-v3 (AVX2: every x64 server since 2013) and <see cref="Avx512Executable"/> for
/// x86-64-v4 (AVX-512). A native build's instruction set is fixed when it is compiled — unlike the JIT, it cannot look
/// at the CPU and pick the widest path at run time — and the manifest's BLAKE3 digest is 3.2× cheaper on AVX-512 (0.26
/// against 0.85 s a GiB on one core, docs/performance.md). So the baseline executable, as its first act, replaces itself
/// with the AVX-512 one (<c>execv</c>: the same process, arguments, environment, standard streams and exit code) when
/// the kernel reports every x86-64-v4 feature. Both executables give the same bytes (NativeBuildTests run each).
/// </summary>
/// <remarks>
/// <see cref="ChoiceVariable"/>=<c>baseline</c> keeps the baseline executable (an operator's escape hatch, and how the
/// tests run it). If the hand-over cannot happen (no sibling executable, <c>execv</c> fails), the baseline executable
/// simply runs: it is always correct, only slower.
/// </remarks>
internal static partial class NativeVariant
{
    /// <summary>The AVX-512 executable's file name, beside the baseline one.</summary>
    internal const string Avx512Executable = "consentfilter-x86-64-v4";

    /// <summary>Environment variable: <c>baseline</c> keeps the x86-64-v3 executable on an AVX-512 machine.</summary>
    internal const string ChoiceVariable = "CONSENTFILTER_NATIVE_VARIANT";

    // What .NET's x86-64-v4 target requires, as the kernel names them in /proc/cpuinfo; it lists a feature only when the
    // CPU has it and the kernel saves its registers, which is exactly the condition for running AVX-512 code.
    private static readonly string[] s_x8664V4Flags = ["avx2", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

    /// <summary>
    /// Whether this process is a native (ahead-of-time compiled) build: there the JIT compiled nothing. (Not
    /// RuntimeFeature.IsDynamicCodeSupported: PublishAot sets that switch to false in the JIT build's runtimeconfig too.)
    /// </summary>
    internal static bool IsNative => System.Runtime.JitInfo.GetCompiledMethodCount() == 0;

    /// <summary>How this process runs, for <c>--version</c>: <c>JIT</c>, or <c>native</c> and its instruction set.</summary>
    internal static string Description =>
        !IsNative ? "JIT"
        : RuntimeInformation.ProcessArchitecture != Architecture.X64 ? "native, " + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()
        : Avx512F.IsSupported && Avx512BW.IsSupported && Avx512CD.IsSupported && Avx512DQ.IsSupported ? "native, x86-64-v4"
        : Avx2.IsSupported ? "native, x86-64-v3"
        : "native, x86-64";

    /// <summary>
    /// In the baseline native executable on an AVX-512 machine, replaces this process with <see cref="Avx512Executable"/>;
    /// returns (doing nothing) everywhere else, or when the hand-over fails.
    /// </summary>
    internal static void HandOverToTheWidestBuild(string[] args)
    {
        // Avx512F.IsSupported is a compile-time constant in a native build: true only in the AVX-512 executable itself,
        // so that one never hands over again.
        if (!IsNative || !OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || Avx512F.IsSupported
            || string.Equals(Environment.GetEnvironmentVariable(ChoiceVariable), "baseline", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var sibling = Path.Combine(AppContext.BaseDirectory, Avx512Executable);
        if (!File.Exists(sibling) || !KernelReports(s_x8664V4Flags))
        {
            return;
        }

        // The arguments exactly as the kernel has them: .NET decoded them as UTF-8, which replaces bytes that are not
        // (a file name may hold any bytes but / and NUL), so re-encoding args could hand the twin other paths.
        if (RawArguments() is not { } raw || raw.Count != args.Length + 1)
        {
            return;
        }

        raw[0] = System.Text.Encoding.UTF8.GetBytes(sibling);
        Exec(raw);
    }

    /// <summary>argv as bytes, from /proc/self/cmdline (NUL-separated), or null if it cannot be read.</summary>
    private static List<byte[]>? RawArguments()
    {
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var arguments = new List<byte[]>();
        var rest = cmdline.AsSpan();
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)0);
            if (end < 0)
            {
                return null; // not NUL-terminated: the process changed its own cmdline; do not guess
            }

            arguments.Add(rest[..end].ToArray());
            rest = rest[(end + 1)..];
        }

        return arguments;
    }

    /// <summary>Whether the first <c>flags</c> line of /proc/cpuinfo lists every one of <paramref name="flags"/>.</summary>
    internal static bool KernelReports(IReadOnlyCollection<string> flags)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
                {
                    var present = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                    return flags.All(present.Contains);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }

    private static unsafe void Exec(List<byte[]> arguments)
    {
        // argv as NUL-terminated strings, NULL-terminated; freed only if execv returns (on success the process image,
        // and this memory with it, is gone).
        var argv = new IntPtr[arguments.Count + 1];
        try
        {
            for (var i = 0; i < arguments.Count; i++)
            {
                argv[i] = Marshal.AllocHGlobal(arguments[i].Length + 1);
                var target = new Span<byte>((void*)argv[i], arguments[i].Length + 1);
                arguments[i].CopyTo(target);
                target[^1] = 0;
            }

            fixed (IntPtr* vector = argv)
            {
                _ = execv((byte*)argv[0], (byte**)vector);
            }
        }
        finally
        {
            foreach (var pointer in argv)
            {
                if (pointer != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(pointer);
                }
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int execv(byte* path, byte** argv);
}
