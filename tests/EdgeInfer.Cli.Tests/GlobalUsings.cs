global using EdgeInfer.Format;
