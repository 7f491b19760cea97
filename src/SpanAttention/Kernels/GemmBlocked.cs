namespace SpanAttention.Kernels;

/// <summary>
/// One GEMM call as raw pointers, so it can be handed to the worker thread. Lives on the caller's stack
/// (inside a <c>fixed</c> block) for the duration of the call.
/// </summary>
internal unsafe struct GemmJob
{
    public int M, N, K;
    public float* A;
    public nint Lda;
    public Transpose TransposeA;
    public float* B;
    public nint Ldb;
    public Transpose TransposeB;

    /// <summary>Pre-packed op(B) (a <see cref="PackedMatrix"/>), or null to pack B on the fly.</summary>
    public float* PackedB;

    /// <summary>Columns of the pre-packed B, rounded up to whole NR panels.</summary>
    public nint PackedStride;
    public float* C;
    public nint Ldc;
    public bool Accumulate;

    /// <summary>How a split job is cut: into <see cref="Parts"/> bands of <see cref="PartSize"/> columns (else rows) of C.</summary>
    public bool SplitColumns;
    public int Parts;
    public int PartSize;
}

/// <summary>The blocked GEMM: five loops around a micro-kernel, and the split over two threads.</summary>
public static partial class Gemm
{
    /// <summary>Rows of the micro-tile of the kernel this process uses.</summary>
    internal static int TileRows => Isa.Vector512 ? Kernel8x32.MR : Isa.Vector256 ? Kernel6x16.MR : Kernel4x4.MR;

    /// <summary>Columns of the micro-tile (the width of a packed B panel) of the kernel this process uses.</summary>
    internal static int TileColumns => Isa.Vector512 ? Kernel8x32.NR : Isa.Vector256 ? Kernel6x16.NR : Kernel4x4.NR;

    /// <summary>Depth of one packed k slice (KC) of the kernel this process uses.</summary>
    internal static int SliceDepth => Isa.Vector512 ? Kernel8x32.KC : Isa.Vector256 ? Kernel6x16.KC : Kernel4x4.KC;

    /// <summary>Work (flops) from which a split call is cut into four parts instead of two.</summary>
    private const long FourPartFlops = 64_000_000;

    /// <summary>Runs a job on one thread, or shared with the worker. Returns whether it was split.</summary>
    private static unsafe bool Execute(GemmJob* job, int threads)
    {
        if (threads >= 2 && ChooseSplit(job) && KernelWorker.TryInvoke(&RunPart, job, job->Parts))
        {
            return true;
        }
        Compute(job, 0, job->M, 0, job->N);
        return false;
    }

    /// <summary>
    /// Cuts C into 2 parts (4 for large calls, so a busy core costs less) along its longer side, on tile
    /// boundaries (whole NR-column panels, or whole MR-row panels). Each part is an independent GEMM over
    /// the full k, with the packing buffers of whichever thread runs it; the operand all parts share (A for
    /// a column split) is packed by each part for itself, a fraction parts/n of the work, and no barrier is
    /// needed inside the loops. Every C element is computed by exactly one thread in exactly the order a
    /// single thread would use, so the results are bit-identical for any thread count.
    /// </summary>
    private static unsafe bool ChooseSplit(GemmJob* job)
    {
        int mr = TileRows, nr = TileColumns;
        int wanted = 2L * job->M * job->N * job->K >= FourPartFlops ? 4 : 2;
        int panels = (job->N + nr - 1) / nr;
        int rowTiles = (job->M + mr - 1) / mr;
        int units, unit;
        if (panels >= 2 && (job->N >= job->M || rowTiles < 2))
        {
            (job->SplitColumns, units, unit) = (true, panels, nr);
        }
        else if (rowTiles >= 2)
        {
            (job->SplitColumns, units, unit) = (false, rowTiles, mr);
        }
        else
        {
            return false;
        }
        int unitsPerPart = (units + Math.Min(wanted, units) - 1) / Math.Min(wanted, units);
        job->PartSize = unitsPerPart * unit;
        job->Parts = (units + unitsPerPart - 1) / unitsPerPart;
        return job->Parts >= 2;
    }

    /// <summary>Part <paramref name="part"/> of a split job: a band of columns or rows of C.</summary>
    private static unsafe void RunPart(void* state, int part)
    {
        var job = (GemmJob*)state;
        int start = part * job->PartSize;
        if (job->SplitColumns)
        {
            Compute(job, 0, job->M, start, Math.Min(start + job->PartSize, job->N));
        }
        else
        {
            Compute(job, start, Math.Min(start + job->PartSize, job->M), 0, job->N);
        }
    }

    /// <summary>C[i0:i1, j0:j1] of the job with the micro-kernel of this process's instruction set.</summary>
    private static unsafe void Compute(GemmJob* job, int i0, int i1, int j0, int j1)
    {
        if (Isa.Vector512)
        {
            Compute<Kernel8x32>(job, i0, i1, j0, j1);
        }
        else if (Isa.Vector256)
        {
            Compute<Kernel6x16>(job, i0, i1, j0, j1);
        }
        else
        {
            Compute<Kernel4x4>(job, i0, i1, j0, j1);
        }
    }

    /// <summary>
    /// C[i0:i1, j0:j1] (+)= op(A)[i0:i1, :]·op(B)[:, j0:j1]: the five BLIS loops. j0 is a multiple of NR
    /// whenever B is pre-packed.
    /// </summary>
    private static unsafe void Compute<TKernel>(GemmJob* job, int i0, int i1, int j0, int j1)
        where TKernel : struct, IGemmKernel
    {
        int k = job->K;
        nint ldc = job->Ldc;
        GemmWorkspace workspace = GemmWorkspace.Current;
        // MC is a multiple of MR, so a block of up to MC rows padded to whole panels still fits. Sized for the
        // largest block on first use, whatever this call's k: later calls never grow it (see GemmWorkspace).
        float* packedA = workspace.A(TKernel.MC * TKernel.KC);
        float* tile = stackalloc float[TKernel.MR * TKernel.NR]; // scratch for edge tiles

        // Loop 5 (JC): columns of C in blocks of NC; the packed KC x NC block of B lives in L3.
        for (int jc = j0; jc < j1; jc += TKernel.NC)
        {
            int nc = Math.Min(TKernel.NC, j1 - jc);

            // Loop 4 (PC): k in slices of KC. Each slice's tile sums are added to C; the first slice of an
            // overwriting call stores instead, so C is never read before it is written.
            for (int pc = 0; pc < k; pc += TKernel.KC)
            {
                int kc = Math.Min(TKernel.KC, k - pc);
                bool overwrite = !job->Accumulate && pc == 0;
                float* packedB;
                if (job->PackedB != null)
                {
                    // Pre-packed: slice pc starts at pc·paddedN; panel jc of the slice at jc·kc.
                    packedB = job->PackedB + pc * job->PackedStride + (nint)jc * kc;
                }
                else
                {
                    packedB = workspace.B(kc * RoundUp(nc, TKernel.NR), TKernel.KC * TKernel.NC);
                    GemmPacking.PackB<TKernel>(job->B, job->Ldb, job->TransposeB, pc, kc, jc, nc, packedB);
                }

                // Loop 3 (IC): rows of C in blocks of MC; the packed MC x KC block of A lives in L2.
                for (int ic = i0; ic < i1; ic += TKernel.MC)
                {
                    int mc = Math.Min(TKernel.MC, i1 - ic);
                    GemmPacking.PackA<TKernel>(job->A, job->Lda, job->TransposeA, ic, mc, pc, kc, packedA);

                    // Loop 2 (JR): NR-wide micro-panels of B; one stays in L1 while loop 1 sweeps A.
                    for (int jr = 0; jr < nc; jr += TKernel.NR)
                    {
                        int nr = Math.Min(TKernel.NR, nc - jr);
                        float* bPanel = packedB + (nint)jr * kc;
                        float* cColumn = job->C + ic * ldc + jc + jr;

                        // Loop 1 (IR): MR-tall micro-panels of A, streamed from L2; one micro-kernel call each.
                        for (int ir = 0; ir < mc; ir += TKernel.MR)
                        {
                            int mr = Math.Min(TKernel.MR, mc - ir);
                            float* aPanel = packedA + (nint)ir * kc;
                            float* cTile = cColumn + ir * ldc;
                            if (mr == TKernel.MR && nr == TKernel.NR)
                            {
                                TKernel.Run(kc, aPanel, bPanel, cTile, ldc, overwrite);
                            }
                            else
                            {
                                GemmEdge.Run<TKernel>(kc, aPanel, bPanel, cTile, ldc, mr, nr, overwrite, tile);
                            }
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
