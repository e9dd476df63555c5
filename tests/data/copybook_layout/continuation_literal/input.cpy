       01  MSG-REC.
           05  MSG-TEXT              PIC X(70) VALUE 'THIS MESSAGE IS LOXXXXXXXX
      -    'NG ENOUGH TO BE CONTINUED'.
           05  MSG-QUOTE               PIC X(10) VALUE "IT'S ""OK""".
           05  MSG-HEX                 PIC X(2) VALUE X'C1C2'.
           05  MSG-ALL                 PIC X(5) VALUE ALL '*'.
           05  FILLER                  PIC X(3) VALUE HIGH-VALUES.
           05  MSG-CODE                PIC 9(2) VALUE 42.
               88  MSG-OK              VALUE 0 THRU 9, 42.
               88  MSG-BAD             VALUES ARE 10 THROUGH 41.
