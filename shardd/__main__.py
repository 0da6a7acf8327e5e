from shardd.daemon import main

main()
