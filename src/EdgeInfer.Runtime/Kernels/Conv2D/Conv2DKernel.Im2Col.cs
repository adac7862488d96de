using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The general convolution: for each image and group, blocks of up to <see cref="PatchRows"/> output pixels have
/// their patches gathered into scratch (row r = the KH·KW·Cin/g inputs of pixel r in the input's (ky, kx, ci) layout,
/// whole kernel rows copied at once, zeros where a tap falls in the padding), then one matrix product with the
/// group's packed weights writes the block's outputs, walking each patch in (ci, ky, kx) term order through a table
/// built at load (one index load per term, shared by four patch rows, instead of a scattered copy).
/// </summary>
public unsafe partial struct Conv2DKernel
{
    private readonly void InvokeIm2Col(float* patches, float* packed)
    {
        int pixels = _outHeight * _outWidth;
        int k = _patchLength;
        int* order = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_termOrder!)); // pinned at allocation
        for (int n = 0; n < _batch; n++)
        {
            float* image = _input + (long)n * _height * _width * _inChannels;
            float* outImage = _output + (long)n * pixels * _outChannels;
            for (int g = 0; g < _groups; g++)
            {
                float* groupWeights = packed + g * _packedGroup;
                float* groupBias = _bias == null ? null : _bias + g * _groupOutChannels;
                for (int p0 = 0; p0 < pixels; p0 += PatchRows)
                {
                    int rows = Math.Min(PatchRows, pixels - p0);
                    for (int r = 0; r < rows; r++)
                    {
                        int p = p0 + r;
                        GatherPatch(image, p / _outWidth, p % _outWidth, g, patches + (long)r * k);
                    }

                    FloatGemm.Multiply(_path, patches, k, rows, groupWeights, _groupOutChannels, k,
                        outImage + (long)p0 * _outChannels + g * _groupOutChannels, _outChannels, groupBias, _min, _max, order);
                }
            }
        }
    }

    /// <summary>Writes the patch of output pixel (oy, ox), group g, as the input lays it out: (ky, kx, ci). The product walks it in (ci, ky, kx) order through <see cref="_termOrder"/>.</summary>
    private readonly void GatherPatch(float* image, int oy, int ox, int g, float* patch)
    {
        int cin = _inChannels, cg = _groupInChannels, kw = _kernelWidth;
        int iy0 = oy * _strideH - _padTop;
        int ix0 = ox * _strideW - _padLeft;
        // With one group and no horizontal dilation, a kernel row whose taps all lie inside the input is one run
        // of KW·Cin contiguous floats.
        bool runs = _groups == 1 && _dilationW == 1 && ix0 >= 0 && ix0 + kw <= _width;
        nint rowBytes = (nint)kw * cg * sizeof(float);
        for (int ky = 0; ky < _kernelHeight; ky++)
        {
            int iy = iy0 + ky * _dilationH;
            if ((uint)iy >= (uint)_height)
            {
                new Span<byte>(patch, (int)rowBytes).Clear();
                patch += kw * cg;
                continue;
            }

            float* inRow = image + (long)iy * _width * cin + g * cg;
            if (runs)
            {
                Buffer.MemoryCopy(inRow + (long)ix0 * cin, patch, rowBytes, rowBytes);
                patch += kw * cg;
                continue;
            }

            for (int kx = 0; kx < kw; kx++)
            {
                int ix = ix0 + kx * _dilationW;
                if ((uint)ix >= (uint)_width)
                {
                    new Span<float>(patch, cg).Clear();
                }
                else
                {
                    float* source = inRow + (long)ix * cin;
                    for (int c = 0; c < cg; c++)
                    {
                        patch[c] = source[c];
                    }
                }

                patch += cg;
            }
        }
    }
}
