from soloist.cli.main import main

main()
