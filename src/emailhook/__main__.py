from emailhook.entrypoints.cli.main import main

main(prog_name="emailhook")
