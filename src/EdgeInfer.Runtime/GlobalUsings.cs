global using EdgeInfer.Format;
global using EdgeInfer.Runtime.Kernels;
