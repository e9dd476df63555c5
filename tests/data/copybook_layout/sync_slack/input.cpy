       01  SYNC-REC.
           05  SY-FLAG                 PIC X.
           05  SY-HALF                 PIC S9(4) COMP SYNC.
           05  SY-TAG                  PIC X.
           05  SY-FULL                 PIC S9(9) BINARY SYNCHRONIZED.
           05  SY-DOUBLE               PIC S9(18) COMP-5 SYNC RIGHT.
           05  SY-PACKED               PIC S9(5) COMP-3 SYNC.
