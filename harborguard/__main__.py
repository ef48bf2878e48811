from harborguard.console import main

main()
