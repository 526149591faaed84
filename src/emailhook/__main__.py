from emailhook.entrypoints.cli import main

main(prog_name="emailhook")
