from strongbox.cli import main

main()
