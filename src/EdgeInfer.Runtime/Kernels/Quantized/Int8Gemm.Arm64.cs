using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeInfer.Runtime.Kernels.Quantized;

// arm64 micro-kernels, 4 rows × 16 channels in 16 accumulator registers.
// Vector128 (Cortex-A53/A72): int16 weights, k-major; SMLAL/SMLAL2 multiply 4 channels by one lane of X each.
// DotProduct (Cortex-A76): int8 weights in k-quads; SDOT by element adds four products per channel lane.
internal unsafe partial struct Int8Gemm
{
    private readonly void RunNeon(short* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        short* x0p = strip;
        short* x1p = strip + kp;
        short* x2p = strip + 2 * kp;
        short* x3p = strip + 3 * kp;
        fixed (short* packed = _packed16)
        {
            for (int n0 = nb; n0 < ne; n0 += 16)
            {
                short* w = packed + (long)n0 * kp;
                int count = Math.Min(16, _units - n0);
                Vector128<int> a00 = Vector128<int>.Zero, a01 = Vector128<int>.Zero, a02 = Vector128<int>.Zero, a03 = Vector128<int>.Zero, a10 = Vector128<int>.Zero, a11 = Vector128<int>.Zero, a12 = Vector128<int>.Zero, a13 = Vector128<int>.Zero, a20 = Vector128<int>.Zero, a21 = Vector128<int>.Zero, a22 = Vector128<int>.Zero, a23 = Vector128<int>.Zero, a30 = Vector128<int>.Zero, a31 = Vector128<int>.Zero, a32 = Vector128<int>.Zero, a33 = Vector128<int>.Zero;
                if (PanelWidth(_units, n0) == 16)
                {
                    for (int kb = 0; kb < kp; kb += 8)
                    {
                        Vector128<short> x0 = AdvSimd.LoadVector128(x0p + kb);
                        Vector128<short> x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<short> x2 = AdvSimd.LoadVector128(x2p + kb);
                        Vector128<short> x3 = AdvSimd.LoadVector128(x3p + kb);
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 0);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 8);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 0);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 0);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 0);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 0);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 0);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 0);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 0);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 0);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 0);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 0);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 0);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 0);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 0);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 0);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 0);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 0);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 16);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 24);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 1);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 1);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 1);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 1);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 1);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 1);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 1);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 1);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 1);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 1);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 1);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 1);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 1);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 1);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 1);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 1);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 32);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 40);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 2);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 2);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 2);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 2);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 2);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 2);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 2);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 2);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 2);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 2);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 2);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 2);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 2);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 2);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 2);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 2);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 48);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 56);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 3);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 3);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 3);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 3);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 3);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 3);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 3);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 3);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 3);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 3);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 3);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 3);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 3);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 3);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 3);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 3);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 64);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 72);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 4);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 4);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 4);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 4);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 4);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 4);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 4);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 4);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 4);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 4);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 4);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 4);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 4);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 4);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 4);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 4);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 80);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 88);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 5);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 5);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 5);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 5);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 5);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 5);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 5);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 5);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 5);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 5);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 5);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 5);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 5);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 5);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 5);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 5);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 96);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 104);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 6);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 6);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 6);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 6);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 6);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 6);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 6);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 6);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 6);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 6);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 6);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 6);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 6);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 6);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 6);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 6);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 112);
                            Vector128<short> wb = AdvSimd.LoadVector128(w + 120);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 7);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 7);
                            a02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a02, wb.GetLower(), x0, 7);
                            a03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a03, wb, x0, 7);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 7);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 7);
                            a12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a12, wb.GetLower(), x1, 7);
                            a13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a13, wb, x1, 7);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 7);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 7);
                            a22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a22, wb.GetLower(), x2, 7);
                            a23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a23, wb, x2, 7);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 7);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 7);
                            a32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a32, wb.GetLower(), x3, 7);
                            a33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a33, wb, x3, 7);
                        }

                        w += 128;
                    }
                }
                else
                {
                    for (int kb = 0; kb < kp; kb += 8)
                    {
                        Vector128<short> x0 = AdvSimd.LoadVector128(x0p + kb);
                        Vector128<short> x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<short> x2 = AdvSimd.LoadVector128(x2p + kb);
                        Vector128<short> x3 = AdvSimd.LoadVector128(x3p + kb);
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 0);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 0);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 0);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 0);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 0);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 0);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 0);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 0);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 0);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 8);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 1);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 1);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 1);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 1);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 1);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 1);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 1);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 1);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 16);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 2);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 2);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 2);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 2);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 2);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 2);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 2);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 2);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 24);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 3);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 3);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 3);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 3);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 3);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 3);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 3);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 3);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 32);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 4);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 4);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 4);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 4);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 4);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 4);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 4);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 4);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 40);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 5);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 5);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 5);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 5);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 5);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 5);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 5);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 5);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 48);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 6);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 6);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 6);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 6);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 6);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 6);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 6);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 6);
                        }
                        {
                            Vector128<short> wa = AdvSimd.LoadVector128(w + 56);
                            a00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a00, wa.GetLower(), x0, 7);
                            a01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a01, wa, x0, 7);
                            a10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a10, wa.GetLower(), x1, 7);
                            a11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a11, wa, x1, 7);
                            a20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a20, wa.GetLower(), x2, 7);
                            a21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a21, wa, x2, 7);
                            a30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(a30, wa.GetLower(), x3, 7);
                            a31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(a31, wa, x3, 7);
                        }

                        w += 64;
                    }
                }

                StoreRow(Requantizer.V128x16(a00, a01, a02, a03, n0), y + n0, count);
                if (rows > 1) StoreRow(Requantizer.V128x16(a10, a11, a12, a13, n0), y + outputStride + n0, count);
                if (rows > 2) StoreRow(Requantizer.V128x16(a20, a21, a22, a23, n0), y + 2 * outputStride + n0, count);
                if (rows > 3) StoreRow(Requantizer.V128x16(a30, a31, a32, a33, n0), y + 3 * outputStride + n0, count);
            }
        }
    }

    private readonly void RunDot(sbyte* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        sbyte* x0p = strip;
        sbyte* x1p = strip + kp;
        sbyte* x2p = strip + 2 * kp;
        sbyte* x3p = strip + 3 * kp;
        fixed (sbyte* packed = _packed8)
        {
            for (int n0 = nb; n0 < ne; n0 += 16)
            {
                sbyte* w = packed + (long)n0 * kp;
                int count = Math.Min(16, _units - n0);
                Vector128<int> a00 = Vector128<int>.Zero, a01 = Vector128<int>.Zero, a02 = Vector128<int>.Zero, a03 = Vector128<int>.Zero, a10 = Vector128<int>.Zero, a11 = Vector128<int>.Zero, a12 = Vector128<int>.Zero, a13 = Vector128<int>.Zero, a20 = Vector128<int>.Zero, a21 = Vector128<int>.Zero, a22 = Vector128<int>.Zero, a23 = Vector128<int>.Zero, a30 = Vector128<int>.Zero, a31 = Vector128<int>.Zero, a32 = Vector128<int>.Zero, a33 = Vector128<int>.Zero;
                if (PanelWidth(_units, n0) == 16)
                {
                    for (int kb = 0; kb < kp; kb += 16)
                    {
                        Vector128<sbyte> x0 = AdvSimd.LoadVector128(x0p + kb);
                        Vector128<sbyte> x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<sbyte> x2 = AdvSimd.LoadVector128(x2p + kb);
                        Vector128<sbyte> x3 = AdvSimd.LoadVector128(x3p + kb);
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 0);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 16);
                            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 32);
                            Vector128<sbyte> w3 = AdvSimd.LoadVector128(w + 48);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 0);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 0);
                            a02 = Dp.DotProductBySelectedQuadruplet(a02, w2, x0, 0);
                            a03 = Dp.DotProductBySelectedQuadruplet(a03, w3, x0, 0);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 0);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 0);
                            a12 = Dp.DotProductBySelectedQuadruplet(a12, w2, x1, 0);
                            a13 = Dp.DotProductBySelectedQuadruplet(a13, w3, x1, 0);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 0);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 0);
                            a22 = Dp.DotProductBySelectedQuadruplet(a22, w2, x2, 0);
                            a23 = Dp.DotProductBySelectedQuadruplet(a23, w3, x2, 0);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 0);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 0);
                            a32 = Dp.DotProductBySelectedQuadruplet(a32, w2, x3, 0);
                            a33 = Dp.DotProductBySelectedQuadruplet(a33, w3, x3, 0);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 64);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 80);
                            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 96);
                            Vector128<sbyte> w3 = AdvSimd.LoadVector128(w + 112);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 1);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 1);
                            a02 = Dp.DotProductBySelectedQuadruplet(a02, w2, x0, 1);
                            a03 = Dp.DotProductBySelectedQuadruplet(a03, w3, x0, 1);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 1);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 1);
                            a12 = Dp.DotProductBySelectedQuadruplet(a12, w2, x1, 1);
                            a13 = Dp.DotProductBySelectedQuadruplet(a13, w3, x1, 1);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 1);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 1);
                            a22 = Dp.DotProductBySelectedQuadruplet(a22, w2, x2, 1);
                            a23 = Dp.DotProductBySelectedQuadruplet(a23, w3, x2, 1);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 1);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 1);
                            a32 = Dp.DotProductBySelectedQuadruplet(a32, w2, x3, 1);
                            a33 = Dp.DotProductBySelectedQuadruplet(a33, w3, x3, 1);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 128);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 144);
                            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 160);
                            Vector128<sbyte> w3 = AdvSimd.LoadVector128(w + 176);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 2);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 2);
                            a02 = Dp.DotProductBySelectedQuadruplet(a02, w2, x0, 2);
                            a03 = Dp.DotProductBySelectedQuadruplet(a03, w3, x0, 2);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 2);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 2);
                            a12 = Dp.DotProductBySelectedQuadruplet(a12, w2, x1, 2);
                            a13 = Dp.DotProductBySelectedQuadruplet(a13, w3, x1, 2);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 2);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 2);
                            a22 = Dp.DotProductBySelectedQuadruplet(a22, w2, x2, 2);
                            a23 = Dp.DotProductBySelectedQuadruplet(a23, w3, x2, 2);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 2);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 2);
                            a32 = Dp.DotProductBySelectedQuadruplet(a32, w2, x3, 2);
                            a33 = Dp.DotProductBySelectedQuadruplet(a33, w3, x3, 2);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 192);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 208);
                            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 224);
                            Vector128<sbyte> w3 = AdvSimd.LoadVector128(w + 240);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 3);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 3);
                            a02 = Dp.DotProductBySelectedQuadruplet(a02, w2, x0, 3);
                            a03 = Dp.DotProductBySelectedQuadruplet(a03, w3, x0, 3);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 3);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 3);
                            a12 = Dp.DotProductBySelectedQuadruplet(a12, w2, x1, 3);
                            a13 = Dp.DotProductBySelectedQuadruplet(a13, w3, x1, 3);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 3);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 3);
                            a22 = Dp.DotProductBySelectedQuadruplet(a22, w2, x2, 3);
                            a23 = Dp.DotProductBySelectedQuadruplet(a23, w3, x2, 3);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 3);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 3);
                            a32 = Dp.DotProductBySelectedQuadruplet(a32, w2, x3, 3);
                            a33 = Dp.DotProductBySelectedQuadruplet(a33, w3, x3, 3);
                        }

                        w += 256;
                    }
                }
                else
                {
                    for (int kb = 0; kb < kp; kb += 16)
                    {
                        Vector128<sbyte> x0 = AdvSimd.LoadVector128(x0p + kb);
                        Vector128<sbyte> x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<sbyte> x2 = AdvSimd.LoadVector128(x2p + kb);
                        Vector128<sbyte> x3 = AdvSimd.LoadVector128(x3p + kb);
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 0);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 16);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 0);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 0);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 0);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 0);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 0);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 0);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 0);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 0);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 32);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 48);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 1);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 1);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 1);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 1);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 1);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 1);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 1);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 1);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 64);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 80);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 2);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 2);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 2);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 2);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 2);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 2);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 2);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 2);
                        }
                        {
                            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w + 96);
                            Vector128<sbyte> w1 = AdvSimd.LoadVector128(w + 112);
                            a00 = Dp.DotProductBySelectedQuadruplet(a00, w0, x0, 3);
                            a01 = Dp.DotProductBySelectedQuadruplet(a01, w1, x0, 3);
                            a10 = Dp.DotProductBySelectedQuadruplet(a10, w0, x1, 3);
                            a11 = Dp.DotProductBySelectedQuadruplet(a11, w1, x1, 3);
                            a20 = Dp.DotProductBySelectedQuadruplet(a20, w0, x2, 3);
                            a21 = Dp.DotProductBySelectedQuadruplet(a21, w1, x2, 3);
                            a30 = Dp.DotProductBySelectedQuadruplet(a30, w0, x3, 3);
                            a31 = Dp.DotProductBySelectedQuadruplet(a31, w1, x3, 3);
                        }

                        w += 128;
                    }
                }

                StoreRow(Requantizer.V128x16(a00, a01, a02, a03, n0), y + n0, count);
                if (rows > 1) StoreRow(Requantizer.V128x16(a10, a11, a12, a13, n0), y + outputStride + n0, count);
                if (rows > 2) StoreRow(Requantizer.V128x16(a20, a21, a22, a23, n0), y + 2 * outputStride + n0, count);
                if (rows > 3) StoreRow(Requantizer.V128x16(a30, a31, a32, a33, n0), y + 3 * outputStride + n0, count);
            }
        }
    }
}
