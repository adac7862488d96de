return EdgeInfer.Cli.EdgeInferCli.Run(args, Console.Out, Console.Error);
