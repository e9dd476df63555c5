000100*================================================================ CLAIMREC
000200* CLAIMREC - CLAIMS BATCH INTERFACE: HEADER, DETAIL, TRAILER      CLAIMREC
000300* RECFM=FB LRECL=120.  AMOUNTS IN PENCE-PRECISION POUNDS.         CLAIMREC
000400*================================================================ CLAIMREC
000500 01  CLAIM-HEADER.                                                CLAIMREC
000600     05  HDR-REC-TYPE            PIC X(01)  VALUE 'H'.            CLAIMREC
000700         88  HDR-IS-HEADER                  VALUE 'H'.            CLAIMREC
000800     05  HDR-FILE-ID             PIC X(08).                       CLAIMREC
000900     05  HDR-RUN-DATE            PIC 9(08).                       CLAIMREC
001000     05  HDR-RUN-DATE-R REDEFINES HDR-RUN-DATE.                   CLAIMREC
001100         10  HDR-RUN-CC          PIC 9(02).                       CLAIMREC
001200         10  HDR-RUN-YY          PIC 9(02).                       CLAIMREC
001300         10  HDR-RUN-MM          PIC 9(02).                       CLAIMREC
001400         10  HDR-RUN-DD          PIC 9(02).                       CLAIMREC
001500     05  HDR-SEQ-NO              PIC 9(06)  COMP-3.               CLAIMREC
001600     05  HDR-SOURCE              PIC X(10).                       CLAIMREC
001700     05  FILLER                  PIC X(89)  VALUE SPACES.         CLAIMREC
001800*                                                                 CLAIMREC
001900 01  CLAIM-DETAIL.                                                CLAIMREC
002000     05  DTL-REC-TYPE            PIC X(01)  VALUE 'D'.            CLAIMREC
002100         88  DTL-IS-DETAIL                  VALUE 'D'.            CLAIMREC
002200     05  DTL-CLAIM-NO            PIC X(10).                       CLAIMREC
002300     05  DTL-CLAIMANT-NAME       PIC X(30).                       CLAIMREC
002400     05  DTL-CLAIM-TYPE          PIC X(02).                       CLAIMREC
002500         88  DTL-TYPE-VALID      VALUES 'TR' 'SU' 'EQ' 'ME'.      CLAIMREC
002600     05  DTL-CLAIM-DATE          PIC 9(08).                       CLAIMREC
002700     05  DTL-AMOUNT              PIC S9(07)V99 COMP-3.            CLAIMREC
002800     05  DTL-VAT                 PIC S9(06)V99 PACKED-DECIMAL.    CLAIMREC
002900     05  DTL-MILES               PIC S9(04) COMP.                 CLAIMREC
003000     05  DTL-UNITS               PIC 9(09) BINARY.                CLAIMREC
003100     05  DTL-ADJUST              PIC S9(05)V99.                   CLAIMREC
003200     05  DTL-ADJUST-LEAD         PIC S9(05) SIGN LEADING.         CLAIMREC
003300     05  DTL-BALANCE             PIC S9(07)V99                    CLAIMREC
003400                                 SIGN IS TRAILING SEPARATE.       CLAIMREC
003500     05  DTL-RATE                PIC S9V9(4)                      CLAIMREC
003600                                 SIGN LEADING SEPARATE CHARACTER. CLAIMREC
003700     05  DTL-ITEM-COUNT          PIC 9(01).                       CLAIMREC
003800     05  DTL-ITEMS               OCCURS 3 TIMES.                  CLAIMREC
003900         10  DTL-ITEM-CODE       PIC X(04).                       CLAIMREC
004000         10  DTL-ITEM-AMT        PIC S9(05)V99 COMP-3.            CLAIMREC
004100*                                                                 CLAIMREC
004200 01  CLAIM-TRAILER.                                               CLAIMREC
004300     05  TRL-REC-TYPE            PIC X(01)  VALUE 'T'.            CLAIMREC
004400     05  TRL-RECORD-COUNT        PIC 9(09).                       CLAIMREC
004500     05  TRL-HASH-TOTAL          PIC S9(15)V99 COMP-3.            CLAIMREC
004600     05  TRL-MAX-AMOUNT          PIC S9(18) COMP-3.               CLAIMREC
004700     05  TRL-BIG-COUNT           PIC S9(18) COMP-4.               CLAIMREC
004800     05  FILLER                  PIC X(83)  VALUE SPACES.         CLAIMREC
