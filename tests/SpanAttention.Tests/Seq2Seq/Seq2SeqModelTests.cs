using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>The model itself: its parameter layout, the teacher-forced forward, the decoder step.</summary>
public sealed class Seq2SeqModelTests
{
    [Fact]
    public void Layout_BidirectionalLuong_HasPyTorchNamesInStateDictOrder()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.Luong), 2, 4, 4);
        string[] names = [.. model.Layout.Slots.Select(s => s.Name)];
        Assert.Equal(
        [
            "encoder.embedding.weight",
            "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0", "encoder.rnn.bias_ih_l0", "encoder.rnn.bias_hh_l0",
            "encoder.rnn.weight_ih_l0_reverse", "encoder.rnn.weight_hh_l0_reverse", "encoder.rnn.bias_ih_l0_reverse", "encoder.rnn.bias_hh_l0_reverse",
            "bridge.weight", "bridge.bias", "decoder.embedding.weight",
            "decoder.attention.W_q.weight", "decoder.attention.W_k.weight", "decoder.attention.W_k.bias", "decoder.attention.v.weight",
            "decoder.cell.weight_ih", "decoder.cell.weight_hh", "decoder.cell.bias_ih", "decoder.cell.bias_hh",
            "decoder.combine.weight", "decoder.out.weight", "decoder.out.bias",
        ], names);
        Assert.Equal([16, 8 + 16], model.Layout["decoder.cell.weight_ih"].Shape.Skip(1).Prepend(model.Layout["decoder.cell.weight_ih"].Shape[0] / 3));
    }

    [Fact]
    public void Forward_PaddingTargets_NotCountedInLossOrAccuracy()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 1);
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config with { }, 5);
        float loss = model.Forward(batch);
        Assert.Equal(batch.TargetLengths.Sum(), model.LastTokenCount);
        Assert.InRange(model.CountCorrect(), 0, model.LastTokenCount);
        // padding a batch further (longer T, same rows) changes nothing
        int t2 = batch.TargetLength + 1;
        int[] Pad(int[] a)
        {
            var r = new int[batch.BatchSize * t2];
            for (int b = 0; b < batch.BatchSize; b++)
            {
                Array.Copy(a, b * batch.TargetLength, r, b * t2, batch.TargetLength);
            }
            return r;
        }
        var longer = new Seq2SeqBatch(batch.BatchSize, batch.SourceLength, t2, batch.SourceIds, batch.SourceLengths,
            Pad(batch.TargetInput), Pad(batch.TargetOutput), batch.TargetLengths);
        Assert.Equal(loss, model.Forward(longer), 5);
    }

    [Fact]
    public void DecoderStep_SteadyState_AllocatesNothing()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.Luong), 4, 8, 10);
        int[] ids = [3, 4, 5, 0, 6, 7, 8, 9];
        int[] lengths = [3, 4];
        int[] fed = [1, 1];
        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Encode(ids, lengths, 2, 4);
            for (int t = 0; t < 10; t++)
            {
                model.DecoderStep(t, 2, fed);
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 1)
            {
                Assert.Equal(0, allocated);
            }
        }
    }
}
