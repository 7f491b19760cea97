using SpanAttention.Data;
using SpanAttention.Data.Captioning;

namespace SpanAttention.Evaluation;

/// <summary>The scores of a captioning model on one split (<see cref="CaptionEvaluation"/>).</summary>
/// <param name="Split">Which images, e.g. "held-out" or "compositional".</param>
/// <param name="Images">How many were captioned.</param>
/// <param name="ExactMatch">The fraction of captions equal to their reference word for word, in [0, 1].</param>
/// <param name="Bleu">Corpus BLEU-4 with one reference per image.</param>
/// <param name="Grounding">The attention mass inside the named objects' boxes with its uniform baseline and ceiling
/// (<see cref="Evaluation.Grounding"/>); null when the model has no attention or the images carry no boxes.</param>
public sealed record CaptionSplitScore(string Split, int Images, double ExactMatch, BleuScore Bleu, GroundingScore? Grounding);

/// <summary>
/// Scores a <see cref="CaptionModel"/>'s greedy captions: exact match and BLEU-4 against one reference per image, and
/// on the built-in tasks, whose generator knows the box of the object every caption word names, the grounding score.
/// </summary>
/// <remarks>Grounding scores the generated words that equal their reference word at the same position and name an
/// object (<see cref="Grounding.WordBoxes"/>): a wrong word has no object it should look at.</remarks>
public static class CaptionEvaluation
{
    /// <summary>
    /// The validation and test splits of a built-in task as <see cref="CaptionDataset.BuiltIn"/> builds them from
    /// <paramref name="seed"/> and <paramref name="count"/> (<c>shapes</c>: held-out scenes and the compositional split;
    /// <c>digits</c>: two draws of unseen handwriting), so a model trained with the same values is scored on images it
    /// never saw.
    /// </summary>
    /// <param name="model">An image model reading the task's image size.</param>
    /// <param name="task"><c>shapes</c> or <c>digits</c>.</param>
    /// <param name="seed">The task's seed.</param>
    /// <param name="count">The task's training count (0: its default); it sets the split sizes.</param>
    /// <param name="limit">Score at most this many images per split (0: all).</param>
    /// <returns>One score per split, validation first.</returns>
    /// <exception cref="ArgumentException">Unknown task, or the task's images do not fit the model.</exception>
    public static IReadOnlyList<CaptionSplitScore> BuiltIn(CaptionModel model, string task, int seed, int count = 0, int limit = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        (ImageExample[] validation, ImageExample[] test, string testName) = CaptionDataset.HeldOutExamples(task, seed, count);
        ImagePreprocessing p = model.Preprocessing
            ?? throw new ArgumentException("The model reads precomputed feature grids; the built-in tasks are images.", nameof(model));
        ImageExample first = validation[0];
        if (first.Channels != p.Channels || first.Height != p.Height || first.Width != p.Width)
        {
            throw new ArgumentException(
                $"The {task} images are {first.Channels} x {first.Height} x {first.Width}; the model reads {p.Channels} x {p.Height} x {p.Width} (it was trained on another task).", nameof(task));
        }
        return [Score(model, Take(validation, limit), "held-out"), Score(model, Take(test, limit), testName)];
    }

    /// <summary>Exact match and BLEU-4 of the model's greedy captions of <paramref name="images"/> (no grounding: the images carry no boxes).</summary>
    /// <param name="model">The model.</param>
    /// <param name="images">Inputs the model reads, with their reference captions.</param>
    /// <param name="split">The name the score carries.</param>
    /// <returns>The score.</returns>
    /// <exception cref="ArgumentException">No images, or one does not fit the model.</exception>
    public static CaptionSplitScore Score(CaptionModel model, IReadOnlyList<ImageCaption> images, string split = "test")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("There are no images to score.", nameof(images));
        }
        GeneratedCaption[] captions = model.Decode([.. images.Select(x => x.Pixels)]);
        CaptionScores text = CaptionMetrics.Score([.. captions.Select(c => c.Words)], [.. images.Select(x => (IReadOnlyList<string>)x.Caption.Split(' ', StringSplitOptions.RemoveEmptyEntries))]);
        return new CaptionSplitScore(split, images.Count, text.ExactMatch, text.Bleu, null);
    }

    /// <summary>The scores of generated examples, grounding included when the model has attention.</summary>
    internal static CaptionSplitScore Score(CaptionModel model, IReadOnlyList<ImageExample> examples, string split)
    {
        GeneratedCaption[] captions = model.Decode([.. examples.Select(x => x.Pixels)]);
        CaptionScores text = CaptionMetrics.Score([.. captions.Select(c => c.Words)], [.. examples.Select(x => (IReadOnlyList<string>)x.Tokens)]);
        GroundingScore? grounding = null;
        if (model.HasAttention)
        {
            var inputs = new List<GroundingInput>(examples.Count);
            for (int i = 0; i < examples.Count; i++)
            {
                if (captions[i].Attention is not CaptionAttention a)
                {
                    continue;
                }
                ImageExample x = examples[i];
                var referenceBoxes = new PixelBox?[x.Tokens.Length];
                for (int t = 0; t < referenceBoxes.Length; t++)
                {
                    referenceBoxes[t] = x.BoxOfToken(t);
                }
                inputs.Add(new GroundingInput(a.Weights.ToArray(), a.GridHeight, a.GridWidth, x.Height, x.Width, Grounding.WordBoxes(a.Words, x.Tokens, referenceBoxes)));
            }
            grounding = inputs.Count == 0 || inputs.All(g => g.WordBoxes.All(b => b is null)) ? null : Grounding.Corpus(inputs);
        }
        return new CaptionSplitScore(split, examples.Count, text.ExactMatch, text.Bleu, grounding);
    }

    private static ImageExample[] Take(ImageExample[] examples, int limit) => limit > 0 && limit < examples.Length ? examples[..limit] : examples;
}
