from smallfedi.cli import main

raise SystemExit(main())
