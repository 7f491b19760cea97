using System.Collections;
using System.Globalization;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// An immutable list that compares by its elements, so that a record holding one (e.g. the conv channels of a
/// <see cref="Seq2SeqConfig"/>) keeps value equality: two configurations with the same channels are equal.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
    where T : IEquatable<T>
{
    private readonly T[] _items;

    private ValueList(T[] items) => _items = items;

    /// <summary>The empty list.</summary>
    public static ValueList<T> Empty { get; } = new([]);

    /// <summary>A copy of <paramref name="items"/> (null gives the empty list; a <see cref="ValueList{T}"/> is reused).</summary>
    public static ValueList<T> Of(IEnumerable<T>? items) => items switch
    {
        null => Empty,
        ValueList<T> list => list,
        _ => new([.. items]),
    };

    /// <inheritdoc/>
    public T this[int index] => _items[index];

    /// <inheritdoc/>
    public int Count => _items.Length;

    /// <summary>The elements as a span.</summary>
    public ReadOnlySpan<T> AsSpan() => _items;

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(ValueList<T>? other) => other is not null && _items.AsSpan().SequenceEqual(other._items);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (T item in _items)
        {
            hash.Add(item);
        }
        return hash.ToHashCode();
    }

    /// <summary>The elements as "[a, b, c]" (invariant culture).</summary>
    public override string ToString() =>
        "[" + string.Join(", ", _items.Select(x => x is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : x.ToString())) + "]";
}
