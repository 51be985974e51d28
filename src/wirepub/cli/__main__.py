from wirepub.cli import main

main()
