       01  ERR-REC.
           05  E-A                     PIC X(3) COMP-3.
           05  E-B                     PIC 9(3) SIGN LEADING.
           05  E-C                     PIC S9(3) COMP SIGN TRAILING.
           05  E-D                     REDEFINES E-NOPE PIC X.
           05  E-E                     PIC X OCCURS 1 TO 5.
           05  E-F                     PIC X(4) JUSTIFIED RIGHT.
           05  E-G                     PIC 9 OCCURS 3 DEPENDING ON E-A.
           05  E-H                     PIC X(2).
           05  E-I REDEFINES E-H       PIC X(3).
           05  E-J                     PIC 9 COMP-1.
           05  E-K                     PIC X ZORK.
