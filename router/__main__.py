from router.app import main

main()
