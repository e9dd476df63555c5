      * A copybook meant to go under the program's own 01.
           05  ADDR-LINE               PIC X(35) OCCURS 4 TIMES.
           05  ADDR-POSTCODE           PIC X(8).
           05  ADDR-UPRN               PIC 9(12) COMP-3.
       77  ADDR-COUNT                  PIC S9(4) COMP VALUE ZERO.
