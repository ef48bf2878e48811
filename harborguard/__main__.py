from harborguard.cli import main

main()
