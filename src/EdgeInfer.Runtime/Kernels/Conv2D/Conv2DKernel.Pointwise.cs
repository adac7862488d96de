using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// 1×1 convolution without padding. Each output pixel's patch (per group) is the input pixel's Cin/g channels,
/// contiguous in NHWC, so the input is the A matrix of the product as it lies: rows Cin floats apart when the stride
/// is 1 (one product over all H·W pixels of an image), rows stride·Cin apart along an output row otherwise.
/// </summary>
public unsafe partial struct Conv2DKernel
{
    private readonly void InvokePointwise(float* packed)
    {
        int cin = _inChannels, cout = _outChannels;
        for (int n = 0; n < _batch; n++)
        {
            float* image = _input + (long)n * _height * _width * cin;
            float* outImage = _output + (long)n * _outHeight * _outWidth * cout;
            for (int g = 0; g < _groups; g++)
            {
                float* groupWeights = packed + g * _packedGroup;
                float* groupBias = _bias == null ? null : _bias + g * _groupOutChannels;
                if (_strideH == 1 && _strideW == 1)
                {
                    FloatGemm.Multiply(_path, image + g * _groupInChannels, cin, _outHeight * _outWidth,
                        groupWeights, _groupOutChannels, _groupInChannels,
                        outImage + g * _groupOutChannels, cout, groupBias, _min, _max);
                    continue;
                }

                for (int oy = 0; oy < _outHeight; oy++)
                {
                    float* inRow = image + (long)oy * _strideH * _width * cin + g * _groupInChannels;
                    float* outRow = outImage + (long)oy * _outWidth * cout + g * _groupOutChannels;
                    FloatGemm.Multiply(_path, inRow, (nint)_strideW * cin, _outWidth,
                        groupWeights, _groupOutChannels, _groupInChannels,
                        outRow, cout, groupBias, _min, _max);
                }
            }
        }
    }
}
