// `mola`: the MoLA.Distributed command line. Commands live in Commands/, one file each;
// CliApp wires them up and maps failures to exit codes (see ExitCodes).
return MoLA.Cli.CliApp.Run(args, Console.Out, Console.Error);
