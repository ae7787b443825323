using System.Buffers;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// Planes for one region's detection, rented from the shared array pool while a <see cref="Begin"/> scope lasts on
/// this thread and returned when it ends (outside a scope: plain allocations). A region needs a dozen planes of
/// megabytes each; allocated anew they kept the large-object heap in gen-2 collections and on fresh pages. A rented
/// array may be longer than asked for: code that gets one works on its first n elements, never on its Length.
/// </summary>
internal static class Scratch
{
    // Below this an array is a cheap small-object allocation; pooling it would only hold memory.
    private const int PoolFrom = 1 << 14;

    [ThreadStatic] private static List<Array>? t_rented;

    public static Scope Begin()
    {
        var outer = t_rented;
        t_rented = [];
        return new Scope(outer);
    }

    public readonly struct Scope(List<Array>? outer) : IDisposable
    {
        public void Dispose()
        {
            if (t_rented is { } rented)
                foreach (var a in rented)
                    switch (a)
                    {
                        case float[] f: ArrayPool<float>.Shared.Return(f); break;
                        case int[] i: ArrayPool<int>.Shared.Return(i); break;
                        case byte[] b: ArrayPool<byte>.Shared.Return(b); break;
                        case bool[] b: ArrayPool<bool>.Shared.Return(b); break;
                    }
            t_rented = outer;
        }
    }

    /// <summary>Gives an array rented in this scope back early (the next plane reuses it while it is in cache).</summary>
    public static void Release(Array? a)
    {
        if (a is null || t_rented is not { } rented || !rented.Remove(a))
            return;
        switch (a)
        {
            case float[] f: ArrayPool<float>.Shared.Return(f); break;
            case int[] i: ArrayPool<int>.Shared.Return(i); break;
            case byte[] b: ArrayPool<byte>.Shared.Return(b); break;
            case bool[] b: ArrayPool<bool>.Shared.Return(b); break;
        }
    }

    /// <summary>An array whose first <paramref name="n"/> elements are left as they were: the caller writes them all.</summary>
    public static T[] Uninitialized<T>(int n)
    {
        if (t_rented is not { } rented || n < PoolFrom)
            return new T[n];
        var a = ArrayPool<T>.Shared.Rent(n);
        rented.Add(a);
        return a;
    }

    /// <summary>An array whose first <paramref name="n"/> elements are zero (as a new one).</summary>
    public static T[] Zeroed<T>(int n)
    {
        if (t_rented is null || n < PoolFrom)
            return new T[n];
        var a = Uninitialized<T>(n);
        Array.Clear(a, 0, n);
        return a;
    }
}
