from emailhook.entrypoints.cli.commands import main

main(prog_name="emailhook")
