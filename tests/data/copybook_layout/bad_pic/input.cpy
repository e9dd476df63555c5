000100 01  CLAIMREC.                                                    CLAIMREC
000200     05  CLM-ID                  PIC X(10).                       CLAIMREC
000300     05  CLM-AMOUNT              PIC S9(7V99 COMP-3.              CLAIMREC
000400     05  CLM-RATE                PIC 9(3)Z9.                      CLAIMREC
000500     05  CLM-NAME                PIC X(0).                        CLAIMREC
000600     05  CLM-BIG                 PIC S9(32) COMP-3.               CLAIMREC
000700     05  CLM-EDIT                PIC XXBXX.                       CLAIMREC
